/** The `snnc` executable: runs the command line and sets the exit code (cli/main.ts is the library side). */
import { main } from './main.js';

// A reader that stops early (`snnc neurons | head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv);
