/** Translates connector errors into Temporal failures once, at the activity boundary. */
import { ApplicationFailure } from '@temporalio/common';
import { NON_RETRYABLE_ERROR_TYPES, isKasirError } from '../src/domain/errors';

export async function translateErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isKasirError(err)) {
      throw ApplicationFailure.create({
        type: err.name,
        message: err.message,
        nonRetryable: NON_RETRYABLE_ERROR_TYPES.includes(err.name),
        details: [
          { provider: err.provider, providerCode: err.providerCode, httpStatus: err.httpStatus, field: err.field },
        ],
        cause: err,
      });
    }
    throw err;
  }
}
