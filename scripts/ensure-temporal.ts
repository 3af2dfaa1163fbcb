/** `npm run temporal:ensure`: find or build the Temporal CLI and print its path and version. */
import { execFileSync } from 'node:child_process';
import { ensureTemporalCli } from '../src/sandbox/temporal/cli-binary';

ensureTemporalCli()
  .then((binary) => {
    const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
    console.log(`${binary}\n${version}`);
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
