/**
 * `npm run bench`: Kasir's benchmark on the full stack. Logs are quietened before anything else loads
 * (the logger reads LOG_LEVEL once, at import), then the benchmark itself runs.
 */
process.env.LOG_LEVEL ??= 'error';

import('./bench')
  .then((bench) => bench.main())
  .then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
