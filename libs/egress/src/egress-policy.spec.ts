import type { LookupAddress } from 'node:dns';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nonPublicAddress } from './address-ranges';
import { egressFetch } from './egress-fetch';
import { EgressPolicy } from './egress-policy';
import { EgressRefusal, EgressResolutionError } from './egress-refusal';

const resolvesTo =
  (...addresses: string[]) =>
  async (): Promise<LookupAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refusal(promise: Promise<unknown>): Promise<EgressRefusal> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(EgressRefusal);
  return error as EgressRefusal;
}

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.255.255.1', 'private-network'],
    ['172.16.4.1', 'private-network'],
    ['192.168.1.10', 'private-network'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'benchmarking'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::2', 'unique local'],
    ['fc00::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['::ffff:10.0.0.1', 'private-network'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a00:1', 'NAT64'],
    ['2002:a00:1::1', '6to4'],
    ['not-an-address', 'not an IP address'],
  ])('%s is not public (%s)', (address, kind) => {
    expect(nonPublicAddress(address)).toContain(kind);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(nonPublicAddress(address)).toBeNull();
  });
});

describe('EgressPolicy', () => {
  it('lets public addresses through and refuses the rest, naming what they are', async () => {
    const policy = new EgressPolicy([], resolvesTo('93.184.216.34', '2606:2800:220:1::1'));
    await expect(policy.resolve('mcp.example.com')).resolves.toHaveLength(2);
    for (const [host, words] of [
      ['127.0.0.1', '127.0.0.1 is a loopback address'],
      ['[::1]', '::1 is a loopback address'],
      ['169.254.169.254', '169.254.169.254 is a link-local address'],
      ['10.0.0.1', '10.0.0.1 is a private-network address'],
    ]) {
      const error = await refusal(policy.resolve(host!));
      expect(error.message).toContain(words);
      expect(error.message).toContain('platform.egress.allow');
      expect(() => policy.checkLiteral(host!)).toThrow(EgressRefusal);
    }
  });

  it('refuses a name when any of its addresses is not public', async () => {
    const error = await refusal(new EgressPolicy([], resolvesTo('93.184.216.34', '127.0.0.1')).resolve('rebind.example'));
    expect(error.message).toContain('rebind.example resolves to 127.0.0.1, a loopback address');
  });

  it('allows what the operator listed: addresses, blocks, names and *.domain, and nothing else', async () => {
    const policy = new EgressPolicy(['10.20.0.0/16', '127.0.0.1', 'mcp.internal', '*.svc.cluster.local'], resolvesTo('10.99.0.1'));
    await expect(policy.resolve('10.20.3.4')).resolves.toHaveLength(1);
    await expect(policy.resolve('127.0.0.1')).resolves.toHaveLength(1);
    await expect(policy.resolve('::ffff:127.0.0.1')).resolves.toHaveLength(1);
    await expect(policy.resolve('mcp.internal')).resolves.toHaveLength(1);
    await expect(policy.resolve('tools.team.svc.cluster.local')).resolves.toHaveLength(1);
    await refusal(policy.resolve('10.21.0.1'));
    await refusal(policy.resolve('127.0.0.2'));
    await refusal(policy.resolve('other.internal'));
    await refusal(policy.resolve('svc.cluster.local.evil'));
    // A name that resolves to an allowed address is allowed by the address, and only by it.
    await expect(new EgressPolicy(['127.0.0.1'], resolvesTo('127.0.0.1')).resolve('localhost')).resolves.toHaveLength(1);
    await refusal(new EgressPolicy(['127.0.0.1'], resolvesTo('127.0.0.1', '::1')).resolve('localhost'));
  });

  it('says when a name does not resolve', async () => {
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    await expect(new EgressPolicy([], failing).resolve('nowhere.example')).rejects.toThrow(EgressResolutionError);
    await expect(new EgressPolicy([], resolvesTo()).resolve('nowhere.example')).rejects.toThrow('no address');
  });
});

describe('egressFetch', () => {
  let server: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/redirect') {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
        return;
      }
      if (request.url === '/large') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('x'.repeat(10_000));
        return;
      }
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => response.writeHead(201, { 'content-type': 'application/json', 'x-echo': request.headers['x-test'] ?? '' }).end(JSON.stringify({ method: request.method, body })));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a loopback server before connecting to it', async () => {
    const before = connections;
    const fetch = egressFetch(new EgressPolicy([]));
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow('127.0.0.1 is a loopback address');
    await expect(fetch(`http://localhost:${port}/`)).rejects.toThrow(/localhost resolves to .*loopback/);
    expect(connections).toBe(before);
  });

  it('is a fetch for what the policy allows: method, headers, body and status', async () => {
    const fetch = egressFetch(new EgressPolicy(['127.0.0.1']));
    const response = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', headers: { 'x-test': 'yes' }, body: 'hello' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-echo')).toBe('yes');
    expect(await response.json()).toEqual({ method: 'POST', body: 'hello' });
  });

  it('never follows a redirect', async () => {
    const fetch = egressFetch(new EgressPolicy(['127.0.0.1']));
    const response = await fetch(`http://127.0.0.1:${port}/redirect`);
    expect(response.status).toBe(302);
    await expect(fetch(`http://127.0.0.1:${port}/redirect`, { redirect: 'error' })).rejects.toThrow('redirect');
  });

  it('fails a body larger than its cap while reading it', async () => {
    const fetch = egressFetch(new EgressPolicy(['127.0.0.1']), { maxResponseBytes: 1000 });
    const response = await fetch(`http://127.0.0.1:${port}/large`);
    await expect(response.text()).rejects.toThrow();
    const roomy = egressFetch(new EgressPolicy(['127.0.0.1']), { maxResponseBytes: 10_000 });
    expect(await (await roomy(`http://127.0.0.1:${port}/large`)).text()).toHaveLength(10_000);
  });
});
