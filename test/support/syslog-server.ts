import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export interface SyslogTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface SyslogServer {
  port: number;
  /** Sends a signal to the running server (SIGSTOP: it hangs, reading nothing, until SIGCONT or a kill). */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Stops the server hard (SIGKILL by default): whatever it had not written is lost, as in a crash. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, writing to a file of its own. */
  restart(): Promise<void>;
  /** Every message rsyslog has written in full (its raw text), oldest server first. */
  lines(): string[];
  stop(): Promise<void>;
}

/** A throwaway CA and a server certificate for 127.0.0.1 (and localhost), made with openssl. */
export function makeTlsFiles(dir: string): SyslogTls {
  const file = (name: string) => join(dir, name);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Gatehouse Test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', file('server.key'), '-out', file('server.csr')]);
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem')]);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}

function config(dir: string, port: number, file: string, tls: SyslogTls | undefined): string {
  const driver = tls ? ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"' : '';
  return [
    // Messages are whole JSON events: rsyslog's default limit (8 KiB) would cut larger ones.
    `global(workDirectory="${dir}/work" maxMessageSize="256k"${
      tls ? ` DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${tls.caFile}" DefaultNetstreamDriverCertFile="${tls.certFile}" DefaultNetstreamDriverKeyFile="${tls.keyFile}"` : ''
    })`,
    `module(load="imtcp"${driver})`,
    `input(type="imtcp" port="${port}" address="127.0.0.1")`,
    // The message exactly as received (without the octet count), one per line.
    'template(name="raw" type="string" string="%rawmsg%\\n")',
    `action(type="omfile" file="${file}" template="raw")`,
    '',
  ].join('\n');
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** rsyslogd in the foreground with its own configuration, listening for RFC 6587 TCP (or RFC 5425 TLS) on loopback. */
export async function startSyslogServer(port: number, options: { tls?: SyslogTls; dir?: string } = {}): Promise<SyslogServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'gh-rsyslog-'));
  mkdirSync(join(dir, 'work'), { recursive: true });
  // omfile writes in buffer-sized pieces, so a server killed mid-write leaves half a line at the end of its
  // file: a message it lost, as a crashed receiver does. Each start writes to a file of its own, so the next
  // server's first line does not run on from that half.
  const files: string[] = [];
  const conf = join(dir, 'rsyslog.conf');
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    const file = join(dir, `messages.${files.length}.log`);
    files.push(file);
    writeFileSync(conf, config(dir, port, file, options.tls));
    const pidFile = join(dir, 'rsyslogd.pid');
    rmSync(pidFile, { force: true });
    const spawned = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    spawned.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child = spawned;
    await waitFor(`rsyslogd on port ${port} (${output.trim()})`, async () => {
      if (spawned.exitCode !== null) throw new Error(`rsyslogd exited: ${output}`);
      return accepts(port);
    }, 15_000);
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  await start();
  return {
    port,
    signal: async (signal) => {
      (child as ChildProcess | null)?.kill(signal);
    },
    kill,
    restart: start,
    // A line without its newline is one being written now, or half of one a killed server lost.
    lines: () =>
      files.flatMap((file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(0, -1).filter((line) => line !== '') : [])),
    stop: async () => {
      // SIGTERM: rsyslog writes what it holds before it exits.
      await kill('SIGTERM');
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
