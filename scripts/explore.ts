/**
 * `npm run explore -- --runs 2000 --seed X`: the long mode of the interleaving exploration
 * (test/explore/interleavings.ts, docs/explore.md). Starts one real stack, lets fast-check generate
 * sequences, and prints how many ran, the steps of each kind, the final statuses reached and any
 * counterexample with its seed and shrink path (replay it with `--seed S --path P --verbose`).
 *
 * Options:
 *   --runs N            sequences to generate (default 100)
 *   --seed S            fast-check seed (default: random, printed)
 *   --path P            replay one counterexample path (with its --seed), then shrink it
 *   --keep-going        do not stop at the first counterexample: run all N, list every failing sequence
 *                       (each replayable with --seed S --path i), then shrink the first one
 *   --max-steps N       steps per sequence, at most (default 8)
 *   --targets a,b       only these targets (finpay-payment, bdpay-payment, bdpay-payout, ayopop-bill)
 *   --time-limit S      stop generating new sequences after S seconds
 *   --shrink-seconds S  time spent shrinking a counterexample (default 300; 0 = no shrinking)
 *   --only p1,p2        only these properties count as failures (to shrink one kind of counterexample)
 *   --sequence JSON     run this one sequence (as printed in a counterexample) --repeat N times, no generation
 *   --verbose           print every sequence's full report, not one line each
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import type { Property, Sequence, SequenceReport, Target } from '../test/explore/interleavings';

// As under `npm test`: Kasir's own logs are silent unless LOG_LEVEL says otherwise. Set before its modules load.
process.env.NODE_ENV ??= 'test';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '100' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'keep-going': { type: 'boolean', default: false },
      'max-steps': { type: 'string', default: '8' },
      targets: { type: 'string' },
      'time-limit': { type: 'string' },
      'shrink-seconds': { type: 'string', default: '300' },
      only: { type: 'string' },
      sequence: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const { ensureTemporalCli } = await import('../src/sandbox/temporal/cli-binary');
  const {
    describeSequence,
    formatReport,
    formatStats,
    InterleavingExplorer,
    interleavingProperty,
    PROPERTIES,
    quietExpectedTemporalWarnings,
    TARGETS,
  } = await import('../test/explore/interleavings');
  const failOn = values.only ? (values.only.split(',') as Property[]) : undefined;
  for (const p of failOn ?? [])
    if (!PROPERTIES.includes(p)) throw new Error(`unknown property ${p}; one of ${PROPERTIES.join(', ')}`);

  const runs = Number(values.runs);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const maxSteps = Number(values['max-steps']);
  const shrinkSeconds = Number(values['shrink-seconds']);
  const keepGoing = values['keep-going'];
  const targets = values.targets ? (values.targets.split(',') as Target[]) : undefined;
  for (const t of targets ?? [])
    if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; one of ${TARGETS.join(', ')}`);
  process.env.TEMPORAL_CLI ??= await ensureTemporalCli();
  const quiet = quietExpectedTemporalWarnings();

  console.log(
    `explore: ${runs} runs, seed ${seed}${values.path ? `, path ${values.path}` : ''}, at most ${maxSteps} steps per sequence${keepGoing ? ', keep going' : ''}`
  );
  const started = Date.now();
  let phase: 'generate' | 'shrink' = 'generate';
  let runIndex = 0;
  let shrinkStartedAt: number | undefined;
  const failing: { index: number; report: SequenceReport }[] = [];
  let lastFailure: SequenceReport | undefined;

  const explorer = await InterleavingExplorer.start({
    onSequence: (report, index) => {
      const tag =
        report.violations.length > 0
          ? `FAIL ${[...new Set(report.violations.map((v) => v.property))].join(',')}`
          : 'ok';
      const where = phase === 'generate' ? `#${index} (path ${runIndex - 1})` : `#${index} (shrinking)`;
      if (values.verbose || report.violations.length > 0) console.log(`\n${where} ${tag}\n${formatReport(report)}\n`);
      else
        console.log(
          `${where} ${tag} ${report.finalStatus} ${(report.durationMs / 1000).toFixed(1)}s ${describeSequence(report.sequence)}`
        );
    },
  });
  console.log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const property = (mode: 'collect' | 'fail') =>
    interleavingProperty(explorer, {
      maxSteps,
      targets,
      collectOnly: mode === 'collect',
      failOn,
      // Once the shrinking budget is spent, the remaining candidates pass without running, so fast-check
      // stops with the smallest counterexample found so far.
      skip: () => {
        runIndex++;
        return shrinkStartedAt !== undefined && Date.now() - shrinkStartedAt > shrinkSeconds * 1000;
      },
      onFailure: (report) => {
        lastFailure = report;
        if (phase === 'generate') failing.push({ index: runIndex - 1, report });
        if (mode === 'fail' && shrinkStartedAt === undefined) {
          shrinkStartedAt = Date.now();
          phase = 'shrink';
          explorer.markShrinking();
          console.log(`\ncounterexample (before shrinking), path ${runIndex - 1}:\n${formatReport(report)}\n`);
        }
      },
    });

  if (values.sequence) {
    const seq = JSON.parse(values.sequence) as Sequence;
    let failed = 0;
    try {
      for (let i = 0; i < Number(values.repeat); i++) {
        const report = await explorer.run(seq);
        if (report.violations.length > 0) failed++;
        if (!values.verbose && report.violations.length === 0) console.log(formatReport(report));
      }
    } finally {
      await explorer.stop().catch(() => undefined);
      quiet.restore();
    }
    console.log(`\n${failed} of ${values.repeat} runs broke an invariant`);
    if (failed > 0) process.exitCode = 1;
    return;
  }

  const timeLimit = values['time-limit'] ? { interruptAfterTimeLimit: Number(values['time-limit']) * 1000 } : {};
  let result: fc.RunDetails<[Sequence]> | undefined;
  try {
    if (keepGoing && !values.path) {
      const collected = await fc.check(property('collect'), { seed, numRuns: runs, ...timeLimit });
      console.log(
        `\n${collected.numRuns} sequences generated${collected.interrupted ? ' (interrupted by the time limit)' : ''}; ${failing.length} broke an invariant`
      );
      for (const f of failing) {
        console.log(
          `  path ${f.index}: ${[...new Set(f.report.violations.map((v) => v.property))].join(', ')} — ${describeSequence(f.report.sequence)}`
        );
      }
      const first = failing[0];
      if (first && shrinkSeconds > 0) {
        console.log(`\nshrinking path ${first.index} (at most ${shrinkSeconds} s)…`);
        phase = 'shrink';
        lastFailure = undefined;
        result = await fc.check(property('fail'), { seed, path: String(first.index), numRuns: 1 });
        if (!result.failed) console.log(`path ${first.index} did not fail again on replay (timing-dependent)`);
      }
    } else {
      result = await fc.check(property('fail'), {
        seed,
        // With a path, fast-check replays that one case (and shrinks it if it fails), nothing more.
        numRuns: values.path ? 1 : runs,
        ...(values.path ? { path: values.path } : {}),
        ...timeLimit,
        ...(shrinkSeconds === 0 ? { endOnFailure: true } : {}),
      });
    }
  } finally {
    await explorer.stop().catch(() => undefined);
    quiet.restore();
  }

  console.log(`\n${formatStats(explorer.stats)}`);
  console.log(`suppressed ${quiet.suppressed()} expected Temporal warnings (EXPLORE_VERBOSE=1 shows them)`);
  if (keepGoing && failing.length > 0) process.exitCode = 1;
  if (!result) return;
  if (!result.failed) {
    if (!keepGoing)
      console.log(
        `\nno counterexample in ${result.numRuns} sequences (seed ${seed})${result.interrupted ? ', interrupted by the time limit' : ''}`
      );
    return;
  }
  console.log(`\nCOUNTEREXAMPLE after ${result.numRuns} sequences and ${result.numShrinks} shrinks`);
  console.log(`seed ${result.seed}, path ${result.counterexamplePath}`);
  console.log(
    `replay: npm run explore -- --seed ${result.seed} --path ${result.counterexamplePath} --shrink-seconds 0 --verbose`
  );
  if (lastFailure) console.log(`\nshrunk counterexample:\n${formatReport(lastFailure)}`);
  process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
