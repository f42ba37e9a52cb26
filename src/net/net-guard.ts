import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { OutboundError } from './outbound-error.js';

/** Resolves a host to every address it has, like `dns.lookup(host, { all: true })`. */
export type ResolveAll = (host: string) => Promise<LookupAddress[]>;

export interface NetGuardOptions {
  /**
   * Exceptions to the public-unicast-only rule. Each entry is a CIDR (`10.1.0.0/16`), a bare IP, an
   * `ip:port` (`127.0.0.1:8080`, `[::1]:8080`) or a `host:port` (`billing.internal:443`); the port may be `*`.
   * A `host:port` entry trusts whatever that name resolves to, so use it only for names the operator controls.
   */
  allow: string[];
  /** Injected for tests; defaults to `dns.lookup` with `all: true`. */
  resolve?: ResolveAll;
}

/** Decides which addresses tool calls may connect to; see {@link guardedFetch} for the HTTP client built on it. */
export interface NetGuard {
  /**
   * Resolves `url`'s host and checks every address. Returns the checked addresses so the caller connects
   * to exactly these (no second DNS query a rebinding server could answer differently).
   * @throws OutboundError `forbidden` for refused addresses or schemes, `network` when the name does not resolve.
   */
  resolve(url: URL, signal?: AbortSignal): Promise<LookupAddress[]>;
  /**
   * The same policy for a host and port reached by another protocol (a database): resolves `host` and
   * checks every address for `port`. Returns the checked addresses to connect to.
   * @throws OutboundError `forbidden` for refused addresses, `network` when the name does not resolve.
   */
  check(host: string, port: string, signal?: AbortSignal): Promise<LookupAddress[]>;
}

type AllowRule =
  | { kind: 'cidr'; range: [ipaddr.IPv4 | ipaddr.IPv6, number] }
  | { kind: 'ip'; ip: ipaddr.IPv4 | ipaddr.IPv6; port: string }
  | { kind: 'host'; host: string; port: string };

/** Splits a comma- or whitespace-separated setting such as `TOOL_NETWORK_ALLOWLIST` into entries. */
export function parseAllowList(raw: string | undefined): string[] {
  return (raw ?? '').split(/[\s,]+/).filter(Boolean);
}

/** Builds the guard; invalid allow-list entries throw at start-up rather than being silently ignored. */
export function createNetGuard(options: NetGuardOptions): NetGuard {
  const rules = options.allow.map(parseRule);
  const resolveAll = options.resolve ?? defaultResolve;

  const check: NetGuard['check'] = async (rawHost, port, signal) => {
    const host = bareHost(rawHost);
    const hostAllowed = rules.some((r) => r.kind === 'host' && r.host === host.toLowerCase() && portMatches(r.port, port));
    const addresses = isIP(host) ? [literal(host)] : await resolveWithSignal(resolveAll, host, signal);
    if (addresses.length === 0) throw new OutboundError('network', `${host} did not resolve`);
    for (const { address } of addresses) {
      if (!hostAllowed && !addressAllowed(rules, address, port)) {
        throw new OutboundError('forbidden', `${host} resolves to a non-public address (${address}) that is not allow-listed`);
      }
    }
    return addresses;
  };

  return {
    check,
    async resolve(url, signal) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new OutboundError('forbidden', `scheme ${url.protocol} is not allowed; use http or https`);
      }
      return check(url.hostname, url.port || (url.protocol === 'https:' ? '443' : '80'), signal);
    },
  };
}

function addressAllowed(rules: AllowRule[], address: string, port: string): boolean {
  const ip = ipaddr.process(address); // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 it maps
  // Everything ipaddr.js does not place in a special range (private, loopback, link-local, unique-local,
  // multicast, reserved, 6to4/Teredo/NAT64 tunnels that can embed private IPv4...) is 'unicast'.
  if (ip.range() === 'unicast') return true;
  return rules.some((rule) => {
    if (rule.kind === 'cidr') return ip.kind() === rule.range[0].kind() && ip.match(rule.range);
    if (rule.kind === 'ip') return ip.kind() === rule.ip.kind() && ip.toString() === rule.ip.toString() && portMatches(rule.port, port);
    return false;
  });
}

function parseRule(entry: string): AllowRule {
  const value = entry.trim();
  // net.isIP is strict (dotted quads only): ipaddr.js would also read `10` or `0x7f.1` as addresses.
  const [cidrIp, bits] = value.split('/');
  if (bits !== undefined && cidrIp && isIP(cidrIp) && ipaddr.isValidCIDR(value)) return { kind: 'cidr', range: ipaddr.parseCIDR(value) };
  if (isIP(value)) {
    const ip = ipaddr.process(value);
    return { kind: 'cidr', range: [ip, ip.kind() === 'ipv4' ? 32 : 128] };
  }
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}|\*))?$/.exec(value);
  if (!match?.[1]) throw new Error(`invalid network allow-list entry: ${JSON.stringify(entry)}`);
  const host = bareHost(match[1]);
  const port = match[2] ?? '*';
  if (isIP(host)) return { kind: 'ip', ip: ipaddr.process(host), port };
  if (!/^[a-z0-9.-]+$/i.test(host)) throw new Error(`invalid network allow-list entry: ${JSON.stringify(entry)}`);
  return { kind: 'host', host: host.toLowerCase(), port };
}

function portMatches(rulePort: string, port: string): boolean {
  return rulePort === '*' || rulePort === port;
}

/** WHATWG URLs keep IPv6 hosts in brackets (`[::1]`); DNS and ipaddr.js want them bare. */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function literal(host: string): LookupAddress {
  return { address: host, family: isIP(host) };
}

function defaultResolve(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });
}

async function resolveWithSignal(resolveAll: ResolveAll, host: string, signal?: AbortSignal): Promise<LookupAddress[]> {
  signal?.throwIfAborted();
  // dns.lookup cannot be cancelled; stop waiting for it when the attempt is aborted.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([resolveAll(host), aborted]);
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new OutboundError('network', `could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? 'lookup failed'}`);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

export { guardedFetch, type GuardedFetchInit, type GuardedResponse } from './guarded-fetch.js';
