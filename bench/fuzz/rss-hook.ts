/**
 * Preloaded (`node --import`) into each `snnc` child the CLI fuzzer spawns: at exit, writes the
 * process's peak resident set size (KiB) to the file named by SNNC_FUZZ_RSS.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.SNNC_FUZZ_RSS;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // the case folder may be gone; the measurement is best effort
    }
  });
}
