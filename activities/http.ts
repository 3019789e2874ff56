// A thin typed fetch layer for Dataverse and the Power Platform admin API.
//
// Why not dynamics-web-api: we need six requests, and for each one the exact status, the
// service's error code and the Retry-After header, so that errors.ts can turn them into the
// right ApplicationFailure. A plain fetch shows all three directly and never retries on its own
// (Temporal is the only layer that retries); Node's fetch trusts NODE_EXTRA_CA_CERTS like
// every other TLS client in the process.
import { callSignal } from './cancellation';
import { errorOfBody, httpFailure, type Service } from './errors';

export interface JsonRequest {
  service: Service;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  token: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface JsonResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Sends one request; a non-2xx answer becomes the mapped ApplicationFailure. */
export async function requestJson<T = unknown>(req: JsonRequest): Promise<JsonResponse<T>> {
  const res = await fetch(req.url, {
    method: req.method,
    headers: {
      authorization: `Bearer ${req.token}`,
      accept: 'application/json',
      ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(req.service === 'dataverse' ? { 'OData-MaxVersion': '4.0', 'OData-Version': '4.0' } : {}),
      ...req.headers,
    },
    body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
    signal: callSignal(req.timeoutMs),
  });
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!res.ok) {
    // Graph-shaped `error`, or the admin API's `errors` list (errors.ts).
    const err = errorOfBody(body);
    throw httpFailure({
      service: req.service,
      status: res.status,
      code: err.code,
      message: err.message ?? (typeof body === 'string' ? body.slice(0, 500) : res.statusText),
      retryAfter: res.headers.get('retry-after'),
      detailCodes: err.codes,
    });
  }
  return { status: res.status, body: body as T, headers: res.headers };
}
