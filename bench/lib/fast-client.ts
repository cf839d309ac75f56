// A lean HTTP/1.1 load client for the benchmarks: one keep-alive TLS connection per virtual client, requests
// written straight onto the socket and responses framed by Content-Length. Node's http.request costs about as much
// CPU per request as the server's handling of it, and on a 2-core machine the load generator's cost comes out of
// the server's share; this client leaves more of the machine to the server, as wrk or a remote client would.
// Only for responses with Content-Length (every non-watch answer of skiff server has one).
import tls from 'node:tls';

/** TLS material of the client (the admin kubeconfig's certificate and CA). */
export interface FastClientTls {
  ca: string;
  cert: string;
  key: string;
}

/** One answered request. */
export interface FastResponse {
  status: number;
  body: Buffer;
}

/** One keep-alive connection answering requests in order. */
export class FastConnection {
  private socket: tls.TLSSocket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: FastResponse) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  private readonly host: string;

  private constructor(socket: tls.TLSSocket, host: string) {
    this.socket = socket;
    this.host = host;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Opens a connection to `url`'s host and port. */
  static open(url: URL, opts: FastClientTls): Promise<FastConnection> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: url.hostname, port: Number(url.port), ca: opts.ca, cert: opts.cert, key: opts.key, servername: url.hostname === '127.0.0.1' ? undefined : url.hostname }, () => resolve(new FastConnection(s, url.host)));
      s.once('error', reject);
    });
  }

  private fail(e: Error): void {
    this.failed ??= e;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(e);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    const head = this.buf.indexOf('\r\n\r\n');
    if (head < 0) return;
    const header = this.buf.subarray(0, head).toString('latin1');
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(header);
    if (!m) {
      this.fail(new Error(`response without Content-Length: ${header.split('\r\n')[0]}`));
      return;
    }
    const end = head + 4 + Number(m[1]);
    if (this.buf.length < end) return;
    const status = Number(header.slice(9, 12));
    const body = this.buf.subarray(head + 4, end);
    this.buf = this.buf.subarray(end);
    const w = this.waiting;
    this.waiting = null;
    w?.resolve({ status, body });
  }

  /** Sends one request and resolves with its response (one at a time per connection). */
  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<FastResponse> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      let h = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\nAccept: application/json\r\n`;
      for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
      if (body !== undefined) {
        if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) h += 'Content-Type: application/json\r\n';
        h += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      }
      this.socket.write(body !== undefined ? h + '\r\n' + body : h + '\r\n');
    });
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }
}
