import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { devServerDynamicConfig } from '../../scripts/lib/dev-server.mjs';
import { searchAttributeDefinitions as fromScripts } from '../../scripts/lib/search-attributes.mjs';
import { searchAttributeDefinitions } from '../../workflows/contracts/index.js';

const root = path.resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

/** What Compose does to `${VAR:-default}` when VAR is unset in the host environment. */
function interpolateUnset(value: string | number | boolean): string {
  return String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

/** `[host-ip:]published:target` → published and target ports. */
function portPairs(svc: Service): Array<{ published: number; target: number }> {
  return (svc.ports ?? []).map((spec) => {
    const parts = spec.split(':');
    return { published: Number(parts.at(-2)), target: Number(parts.at(-1)) };
  });
}

const appServices = ['migrate', 'bootstrap', 'worker', 'gateway'];

describe('docker-compose.yml', () => {
  it('defines every service of the stack', () => {
    for (const name of ['postgres', 'temporal', 'temporal-setup', 'temporal-ui', 'prometheus', ...appServices]) {
      expect(services, name).toHaveProperty(name);
    }
  });

  it('publishes the gateway on 3000, the Temporal UI on 8233 and Temporal gRPC on 7233', () => {
    expect(portPairs(service('gateway'))).toContainEqual({ published: 3000, target: 3000 });
    expect(portPairs(service('temporal-ui'))).toContainEqual({ published: 8233, target: 8080 });
    expect(portPairs(service('temporal'))).toContainEqual({ published: 7233, target: 7233 });
  });

  it('points the app at the compose Postgres and Temporal services, with a config that parses', () => {
    for (const name of appServices) {
      const env = Object.fromEntries(
        Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, interpolateUnset(v)]),
      );
      const db = new URL(env.DATABASE_URL ?? '');
      expect(db.hostname, name).toBe('postgres');
      expect(db.pathname, name).toBe('/smart_agents');
      expect(services).toHaveProperty(db.hostname);
      expect(env.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      // Unset host variables become empty strings: the app's own config schema must still accept them.
      expect(() => loadConfig(env), name).not.toThrow();
    }
    const pg = service('postgres').environment ?? {};
    expect(`postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`).toBe(
      interpolateUnset(service('gateway').environment?.DATABASE_URL ?? ''),
    );
  });

  it('depends only on services that exist, with conditions Compose knows', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, svc] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(svc.depends_on ?? {})) {
        expect(services, `${name} depends on ${target}`).toHaveProperty(target);
        expect(conditions, `${name} → ${target}`).toContain(condition);
      }
    }
    expect(service('worker').depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(service('gateway').depends_on?.['temporal-setup']?.condition).toBe('service_completed_successfully');
  });

  it('creates exactly the search attributes the workflows and `npm start` use', () => {
    const script = [service('temporal-setup').command ?? []].flat().join('\n');
    const created = [...script.matchAll(/^\s*add (\w+) (\w+)\s*$/gm)].map((m) => [m[1], m[2]]);
    expect(created).toEqual(searchAttributeDefinitions.map(([name, type]) => [name, type]));
    expect(fromScripts.map(([name, type]) => [name, type])).toEqual(created);
  });

  it('runs gateway, worker and migrations from this repo’s Dockerfile build', () => {
    const images = new Set<string | undefined>();
    for (const name of appServices) {
      const { build, image, command } = service(name);
      const spec = typeof build === 'string' ? { context: build } : build;
      expect(spec?.context, name).toBe('.');
      expect(existsSync(path.join(root, spec?.dockerfile ?? 'Dockerfile')), name).toBe(true);
      images.add(image);
      // Every command runs a compiled entry whose TypeScript source exists (tsc rootDir is the repo root).
      const entry = [command ?? []].flat().find((part) => part.startsWith('dist/'));
      expect(entry, name).toBeDefined();
      expect(existsSync(path.join(root, entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), entry).toBe(true);
    }
    expect(images.size).toBe(1);
  });

  it('runs Prometheus on deploy/prometheus: the gateway, every worker and the Temporal server, with METRICS_TOKEN', () => {
    const prometheus = service('prometheus');
    const mount = (prometheus.volumes ?? []).find((v) => v.split(':')[1] === '/etc/prometheus');
    const hostDir = mount?.split(':')[0] ?? '';
    const scrape = parse(readFileSync(path.join(root, hostDir, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        authorization?: { credentials_file?: string };
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
      }>;
    };
    const jobs = Object.fromEntries(scrape.scrape_configs.map((j) => [j.job_name, j]));
    const envOf = (name: string) =>
      Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, interpolateUnset(v)]));

    // The gateway's port, and every worker replica by DNS on the port its config parses to.
    expect(jobs.gateway?.static_configs?.[0]?.targets).toEqual([`gateway:${loadConfig(envOf('gateway')).PORT}`]);
    const workerPort = loadConfig(envOf('worker')).WORKER_METRICS_PORT;
    expect(workerPort).toBeDefined();
    expect(jobs.worker?.dns_sd_configs).toEqual([{ names: ['worker'], type: 'A', port: workerPort }]);
    expect(loadConfig(envOf('gateway')).WORKER_METRICS_PORT, 'only the worker has a metrics port').toBeUndefined();
    // The Temporal server's exporter, where its PROMETHEUS_ENDPOINT listens.
    const temporalPort = String(service('temporal').environment?.PROMETHEUS_ENDPOINT ?? '').split(':').at(-1);
    expect(jobs.temporal?.static_configs?.[0]?.targets).toEqual([`temporal:${temporalPort}`]);
    for (const job of Object.values(jobs)) expect(job.metrics_path ?? '/metrics', job.job_name).toBe('/metrics');

    // METRICS_TOKEN reaches the app and Prometheus from the same variable, and the file Prometheus reads is the one its command writes.
    expect(service('gateway').environment?.METRICS_TOKEN).toBe('${METRICS_TOKEN:-}');
    expect(service('worker').environment?.METRICS_TOKEN).toBe('${METRICS_TOKEN:-}');
    expect(prometheus.environment?.METRICS_TOKEN).toBe('${METRICS_TOKEN:-}');
    const script = [prometheus.command ?? []].flat().join('\n');
    for (const name of ['gateway', 'worker']) {
      const file = jobs[name]?.authorization?.credentials_file ?? '';
      expect(file, name).not.toBe('');
      expect(script).toContain(`"$$METRICS_TOKEN" > ${file}`);
    }
    expect(script).toMatch(/exec \/bin\/prometheus --config\.file=\/etc\/prometheus\/prometheus\.yml/);
  });

  it('mounts the Temporal dynamic config file it names', () => {
    const temporal = service('temporal');
    const mount = (temporal.volumes ?? []).find((v) => v.includes('/etc/temporal/config/dynamicconfig'));
    const hostDir = mount?.split(':')[0] ?? '';
    const file = path.basename(String(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH ?? ''));
    expect(existsSync(path.join(root, hostDir, file))).toBe(true);
  });

  it('runs Temporal with the dynamic config of the dev server that npm start, the tests and the benches use', () => {
    const file = parse(readFileSync(path.join(root, 'deploy', 'temporal', 'dynamicconfig.yaml'), 'utf8')) as Record<string, Array<{ value: unknown }>>;
    for (const setting of devServerDynamicConfig) {
      const [key, value] = setting.split('=') as [string, string];
      expect(String(file[key]?.[0]?.value), key).toBe(value);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

  it('ships the migrations where the compiled migrator looks for them', () => {
    // dist/src/db/migrate.js resolves `../../migrations` from its own directory.
    const expected = path.posix.join('dist/src/db', '../../migrations');
    expect(dockerfile).toMatch(new RegExp(`^COPY migrations \\./${expected}$`, 'm'));
  });

  it('runs as a non-root user', () => {
    expect(dockerfile).toMatch(/^USER (?!root)\S+$/m);
  });
});
