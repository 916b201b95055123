/**
 * `snnc neurons`: the declared neuron models (compiler/ir/neurons.ts), their equations and parameters,
 * and which targets run each. Owns formatting only.
 */
import type { Command } from 'commander';
import { neuronModels } from '../compiler/ir/neurons.js';
import { TARGETS } from '../targets/index.js';

function targetsFor(model: string): string[] {
  return TARGETS.filter((t) => t.neuronModels === 'all' || t.neuronModels.includes(model)).map((t) => t.name);
}

export function registerNeuronsCommand(program: Command): void {
  program
    .command('neurons')
    .description('list the neuron models: one step of each, its parameters (defaults) and the targets that run it')
    .option('--json', 'print the declarations as JSON')
    .action((o: { json?: boolean }) => {
      const models = neuronModels();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(models.map((m) => ({ ...m, targets: targetsFor(m.name) })), null, 1)}\n`);
        return;
      }
      for (const m of models) {
        const params = m.params.map((p) => (p.default === undefined ? `${p.name} (required)` : `${p.name}=${p.default}`)).join(', ');
        process.stdout.write(`${m.name}: ${m.title}\n  step:    ${m.equations}\n  params:  ${params}\n  targets: ${targetsFor(m.name).join(', ')}\n`);
      }
    });
}
