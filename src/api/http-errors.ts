/**
 * The API's one error shape and one translation table (style anchors 5.4, layer 4).
 *
 * Every error answer is `{ "error": { type, code, message, param?, errors?, request_id } }`. Handlers
 * throw {@link ApiError} for answers they decide on; {@link toApiError} maps everything else (zod,
 * body-parser, Temporal) once, here. Anything unrecognised is a 500 whose message never carries the
 * cause: the cause goes to the log under the request id.
 */
import {
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';

/** Coarse classes of error, in Stripe's manner: what kind of thing went wrong. */
export const ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'idempotency_error',
  'state_error',
  'provider_error',
  'api_error',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** One bad field of a request. */
export interface FieldError {
  /** Dotted path of the field (`customer.email`), or a header/query parameter name. */
  param: string;
  code: string;
  message: string;
}

export interface ErrorBody {
  error: {
    type: ErrorType;
    code: string;
    message: string;
    param?: string;
    errors?: FieldError[];
    request_id: string;
  };
}

/** An answer a handler decided on. Thrown; rendered by the app's error handler. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly extra: { param?: string; errors?: FieldError[]; headers?: Record<string, string> } = {}
  ) {
    super(message);
  }

  static validation(errors: FieldError[]): ApiError {
    const message = `Invalid request: ${errors.map((e) => `${e.param || '(body)'}: ${e.message}`).join('; ')}`;
    return new ApiError(400, 'invalid_request_error', 'validation_failed', message, {
      param: errors[0]?.param,
      errors,
    });
  }

  static field(param: string, code: string, message: string): ApiError {
    return ApiError.validation([{ param, code, message }]);
  }

  /** The same answer whether the resource does not exist or belongs to someone else: existence never leaks. */
  static notFound(what: string, id: string): ApiError {
    return new ApiError(404, 'invalid_request_error', 'resource_missing', `No such ${what}: '${id}'`, { param: 'id' });
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * zod issues → field errors, one per bad field. Unknown keys are listed one by one; a field absent from
 * `input` is reported as `required`, whatever the schema's own message.
 */
export function fieldErrorsOf(error: z.ZodError, input?: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ param: [...path, key].join('.'), code: 'unknown_parameter', message: 'is not a known parameter' });
      }
      continue;
    }
    const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined;
    out.push({
      param: path.join('.'),
      code: missing ? 'required' : issue.code,
      message: missing ? 'is required' : issue.message,
    });
  }
  return out;
}

interface BodyParserError {
  type: string;
  status?: number;
  statusCode?: number;
}

function isBodyParserError(err: unknown): err is Error & BodyParserError {
  return (
    err instanceof Error &&
    typeof (err as Partial<BodyParserError>).type === 'string' &&
    ('status' in err || 'statusCode' in err)
  );
}

/** True for Temporal errors that mean "Temporal could not answer in time": the request may be retried. */
export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) return true;
  if (isGrpcServiceError(err)) return [4, 14].includes(err.code); // DEADLINE_EXCEEDED, UNAVAILABLE
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err && isTemporalUnavailable(cause);
}

/**
 * The message a workflow rejected or failed an update with: its validator's or handler's error (an
 * `ApplicationFailure`, or whatever failure Temporal reports, such as the workflow closing first).
 */
export function updateFailureMessage(err: WorkflowUpdateFailedError): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure || (cause instanceof Error && cause.message !== '')) return cause.message;
  return err.message;
}

/** The one table: any thrown value → the API's answer. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof z.ZodError) return ApiError.validation(fieldErrorsOf(err));
  if (isBodyParserError(err)) {
    switch (err.type) {
      case 'entity.parse.failed':
        return new ApiError(
          400,
          'invalid_request_error',
          'invalid_json',
          'The request body is not valid JSON (a JSON object is expected).'
        );
      case 'entity.too.large':
        return new ApiError(413, 'invalid_request_error', 'body_too_large', 'The request body is too large.');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new ApiError(
          415,
          'invalid_request_error',
          'unsupported_media_type',
          'Send the body as UTF-8 application/json.'
        );
      default: {
        const status = err.status ?? err.statusCode ?? 400;
        if (status >= 400 && status < 500)
          return new ApiError(status, 'invalid_request_error', 'bad_request', 'The request body could not be read.');
      }
    }
  }
  if (err instanceof URIError) {
    // Express's router cannot decode a path parameter such as `%zz`: the client's URL is broken.
    return new ApiError(
      400,
      'invalid_request_error',
      'invalid_path',
      'The request path is not valid percent-encoding.'
    );
  }
  if (err instanceof WorkflowNotFoundError) {
    return new ApiError(404, 'invalid_request_error', 'resource_missing', 'No such resource.');
  }
  if (err instanceof WorkflowUpdateFailedError) {
    // An update validator's rejection or a handler's failure: the request does not fit the current state.
    return new ApiError(409, 'state_error', 'invalid_state', updateFailureMessage(err));
  }
  if (isTemporalUnavailable(err)) {
    return new ApiError(
      503,
      'api_error',
      'temporarily_unavailable',
      'Kasir could not reach its workflow engine in time; retry the request.',
      {
        headers: { 'Retry-After': '2' },
      }
    );
  }
  return new ApiError(
    500,
    'api_error',
    'internal_error',
    'An internal error occurred. Quote the request id when you contact support.'
  );
}

export function errorBody(err: ApiError, requestId: string): ErrorBody {
  return {
    error: {
      type: err.type,
      code: err.code,
      message: err.message,
      ...(err.extra.param !== undefined ? { param: err.extra.param } : {}),
      ...(err.extra.errors ? { errors: err.extra.errors } : {}),
      request_id: requestId,
    },
  };
}
