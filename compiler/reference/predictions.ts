/** From decoded outputs [N, classes] to predicted classes and accuracy. */

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export function predictions(output: Float32Array, n: number, classes: number): number[] {
  return Array.from({ length: n }, (_, i) => argmax(output.subarray(i * classes, (i + 1) * classes)));
}

/** Percentage of predictions equal to the labels. */
export function accuracy(predicted: readonly number[], labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return (100 * correct) / predicted.length;
}

/** Root-mean-square difference of two equally long output arrays. */
export function rmsDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum / a.length);
}
