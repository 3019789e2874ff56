// The API's only way to Temporal. It connects lazily (the API starts, and answers /healthz,
// even while Temporal is down), bounds the connection attempt by TEMPORAL_CONNECT_TIMEOUT_MS and
// every call by a deadline, and turns "cannot reach Temporal" into a 503 problem. A failed
// connection is dropped so the next request tries again.
import { Client, Connection, isGrpcServiceError, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { HttpProblem } from './problem';

export interface TemporalGatewayOptions {
  address: string;
  namespace: string;
  connectTimeoutMs: number;
  /** Deadline of one API operation's Temporal calls (default 5 s). */
  rpcTimeoutMs?: number;
  connectionOptions?: Omit<ConnectionOptions, 'address' | 'connectTimeout'>;
  /** Payload codec and failure converter (worker/codec.ts createDataConverter). */
  dataConverter?: DataConverter;
}

// gRPC status codes that mean "Temporal is not reachable (in time)".
const UNAVAILABLE_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */, 1 /* CANCELLED */]);

export function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && UNAVAILABLE_CODES.has(e.code)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && UNAVAILABLE_CODES.has(code) && (e as Error).name === 'ServiceError') return true;
    const message = (e as Error).message ?? '';
    if (
      /Failed to connect before the deadline|deadline exceeded|No connection established|ECONNREFUSED|TransportError/i.test(
        message,
      )
    )
      return true;
    if ((e as Error).name === 'TransportError' || (e as Error).name === 'TemporalDeadline') return true;
  }
  return false;
}

export const temporalUnavailable = (): HttpProblem =>
  new HttpProblem(503, 'temporal-unavailable', 'The workflow service (Temporal) cannot be reached; retry later.', {
    headers: { 'retry-after': '5' },
  });

export class TemporalGateway {
  private connecting: Promise<{ connection: Connection; client: Client }> | null = null;
  readonly rpcTimeoutMs: number;

  constructor(private readonly options: TemporalGatewayOptions) {
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 5000;
  }

  get namespace(): string {
    return this.options.namespace;
  }

  private connect(): Promise<{ connection: Connection; client: Client }> {
    if (!this.connecting) {
      const attempt = Connection.connect({
        ...this.options.connectionOptions,
        address: this.options.address,
        connectTimeout: this.options.connectTimeoutMs,
      }).then((connection) => ({
        connection,
        client: new Client({
          connection,
          namespace: this.options.namespace,
          dataConverter: this.options.dataConverter,
        }),
      }));
      this.connecting = attempt;
      attempt.catch(() => {
        if (this.connecting === attempt) this.connecting = null;
      });
    }
    return this.connecting;
  }

  /**
   * Runs `fn` with a client; every Temporal call inside it shares one deadline. A hard timer
   * backs the deadline up, so the caller gets an answer even if something ignores it.
   */
  async run<T>(fn: (client: Client) => Promise<T>, timeoutMs = this.rpcTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hardLimit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('Temporal call exceeded its deadline'), { name: 'TemporalDeadline' })),
        this.options.connectTimeoutMs + timeoutMs + 1000,
      );
    });
    try {
      return await Promise.race([
        (async () => {
          let connected: { connection: Connection; client: Client };
          try {
            connected = await this.connect();
          } catch {
            throw temporalUnavailable();
          }
          return connected.connection.withDeadline(Date.now() + timeoutMs, () => fn(connected.client));
        })(),
        hardLimit,
      ]);
    } catch (err) {
      if (err instanceof HttpProblem) throw err;
      if (isUnreachable(err)) throw temporalUnavailable();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Readiness: Temporal answers a cheap call within the deadline. */
  async ping(timeoutMs = 2000): Promise<void> {
    await this.run((client) => client.workflowService.getSystemInfo({}).then(() => undefined), timeoutMs);
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = null;
    if (!connecting) return;
    try {
      const { connection } = await connecting;
      await connection.close();
    } catch {
      // never connected: nothing to close
    }
  }
}
