/** A tiny fetch-based client for the API tests: JSON in; status, headers, typed body and error out. */
import type { ErrorBody } from '../../src/api/http-errors';
import type { TestMerchant, TestStack } from '../helpers/stack';

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  /** The parsed JSON body as the success type the caller expects (the raw text when not JSON). */
  body: T;
  /** The error object of an error answer (undefined on success; tests only read it after checking the status). */
  error: ErrorBody['error'];
  text: string;
}

export interface CallOptions {
  /** A merchant whose API key is sent as a bearer token. */
  as?: TestMerchant;
  headers?: Record<string, string>;
  /** Sent as-is (string) or JSON-encoded (anything else). */
  body?: unknown;
}

export function apiClient(stack: TestStack) {
  const base = stack.apiUrl!;
  async function call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.as) headers.authorization = `Bearer ${options.as.apiKey}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${base}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return {
      status: response.status,
      headers: response.headers,
      body: parsed as T,
      error: (parsed as Partial<ErrorBody> | undefined)?.error as ErrorBody['error'],
      text,
    };
  }
  return {
    call,
    get: <T = unknown>(path: string, options?: CallOptions) => call<T>('GET', path, options),
    post: <T = unknown>(path: string, body?: unknown, options: CallOptions = {}) =>
      call<T>('POST', path, { ...options, body }),
  };
}

/** The `param`s of a validation error, sorted. */
export function paramsOf(response: ApiResponse<unknown>): string[] {
  return (response.error.errors ?? []).map((e) => e.param).sort();
}

let counter = 0;
/** A merchant reference unique within the test process. */
export function uniqueRef(prefix = 'ORDER'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export function paymentBody(overrides: Record<string, unknown> = {}): Record<string, unknown> & { reference: string } {
  return {
    reference: uniqueRef(),
    amount: 150_000,
    method: 'VA_BCA',
    provider: 'finpay',
    customer: { name: 'Budi Santoso', email: 'budi@example.co.id', phone: '+6281286288844' },
    description: 'Order at Toko Kasir',
    ...overrides,
  };
}

/**
 * Counts the describe calls made through the stack's client, which the stack's API shares, until
 * stopped: what a request costs the server beyond its signal, start or query.
 */
export function countDescribes(stack: TestStack): { count: number; stop(): void } {
  type Describe = (request: unknown) => Promise<unknown>;
  const service = stack.client.workflowService as unknown as { describeWorkflowExecution: Describe };
  const describe = service.describeWorkflowExecution;
  const counter = {
    count: 0,
    stop: () => void (service.describeWorkflowExecution = describe),
  };
  service.describeWorkflowExecution = function (this: unknown, request) {
    counter.count += 1;
    return describe.call(this, request);
  };
  return counter;
}
