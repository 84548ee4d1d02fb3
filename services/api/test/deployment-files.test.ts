// The deployment files are checked here, since this machine has no Docker or Kubernetes to run
// them: .env.example lists exactly the settings config.ts reads, with their real defaults;
// docker-compose.yml and infra/k8s parse, have the shape the docs promise, and set only real
// settings to values parseConfig accepts; the Dockerfile installs every workspace package.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfig } from '@policy-push/core';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DEPLOYED_NODE_OPTIONS } from '../../../bench/processes';
import { JSON_BODY_LIMIT } from '../src/app';
import { CSV_BODY_LIMIT } from '../src/routes/enterprise-import/csv-body';
import { FORM_LIMIT } from '../src/routes/unsubscribe/unsubscribe-routes';
import { XML_LIMIT } from '../src/routes/webhooks/wechat-webhooks';

const root = resolve(import.meta.dirname, '../../..');
/** Node's own setting, not the service's: the benchmarks measure with the same (bench/processes.ts). */
const NODE_OPTIONS = 'NODE_OPTIONS';
const withoutNodeOptions = (env: Env): Env => Object.fromEntries(Object.entries(env).filter(([name]) => name !== NODE_OPTIONS));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

type Env = Record<string, string>;
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const parseYaml = (text: string) => parse(text, { merge: true }) as Obj;
const parseYamlDocs = (text: string) => parseAllDocuments(text, { merge: true }).map((d) => d.toJS() as Obj);

/** Every variable name config.ts mentions: the settings, as the source states them. */
function settingsInSource(): Set<string> {
  const source = read('packages/core/src/config.ts');
  const names = [...source.matchAll(/'([A-Z][A-Z0-9_]{2,})'|env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] ?? m[2]);
  return new Set(names);
}

/** The provider settings that switch every provider on, so parseConfig reads all their options. */
const allProvidersOn: Env = {
  WECHAT_APP_ID: 'wx0123456789abcdef',
  WECHAT_APP_SECRET: 'secret',
  WECHAT_TOKEN: 'token',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'token',
  TWILIO_FROM: '+12025550100',
  SMTP_URL: 'smtp://127.0.0.1:1025',
  MAIL_FROM: 'Policy Push <policy@example.gov.cn>',
};

/** The names parseConfig really reads, recorded as it reads them. */
function settingsRead(): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy(allProvidersOn, {
    get(target, name) {
      if (typeof name === 'string') seen.add(name);
      return target[name as string];
    },
  });
  parseConfig(env);
  return seen;
}

/** `.env` syntax as docker compose reads it: NAME=value, value optionally in single or double quotes. */
function parseEnvFile(text: string): { entries: [string, string][]; uncommented: string[] } {
  const entries: [string, string][] = [];
  const uncommented: string[] = [];
  let previous = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) {
      const value = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
      entries.push([m[1], value]);
      // A setting is explained by the comment above it, or shares the one above its group.
      if (!previous.startsWith('#') && !/^[A-Z]/.test(previous)) uncommented.push(m[1]);
    } else if (line && !line.startsWith('#')) throw new Error(`.env.example: not NAME=value: ${line}`);
    previous = line;
  }
  return { entries, uncommented };
}

const envExample = () => parseEnvFile(read('.env.example'));
const exampleEnv = (): Env => Object.fromEntries(envExample().entries);
/** Resolves compose's ${NAME:-default} the way compose does with NAME unset. */
const composeDefaults = (env: Obj): Env =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));

describe('.env.example', () => {
  it('the settings named in config.ts are exactly the ones parseConfig reads', () => {
    expect([...settingsRead()].sort()).toEqual([...settingsInSource()].sort());
  });

  it('lists every setting once, nothing else, each under a comment', () => {
    const { entries, uncommented } = envExample();
    const names = entries.map(([n]) => n);
    expect(names.length).toBe(new Set(names).size);
    expect([...names].sort()).toEqual([...settingsInSource()].sort());
    expect(uncommented).toEqual([]);
  });

  it('shows the real defaults: as a whole it configures what no settings at all do', () => {
    expect(parseConfig(exampleEnv())).toEqual(parseConfig({}));
    // Provider options are read only with the provider on.
    expect(parseConfig({ ...exampleEnv(), ...allProvidersOn })).toEqual(parseConfig(allProvidersOn));
  });
});

describe('docker-compose.yml', () => {
  const compose = parseYaml(read('docker-compose.yml')) as Obj;
  const services = compose.services as Obj;
  const appServices = ['migrate', 'api', 'dispatcher'];

  it('runs postgres, a migration step, two APIs behind a load balancer, two dispatchers and a mail catcher', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'dispatcher', 'lb', 'mailpit', 'migrate', 'postgres']);
    expect(services.api.deploy.replicas).toBe(2);
    expect(services.dispatcher.deploy.replicas).toBe(2);
    expect(services.mailpit.image).toMatch(/^axllent\/mailpit/);
    expect(services.lb.ports).toEqual(['3000:3000']);
    expect(services.api.ports).toBeUndefined(); // replicas cannot share a host port: the load balancer has it
    expect(read('infra/nginx/nginx.conf')).toContain('proxy_pass $api');
  });

  it('migrates once, after Postgres is healthy, and starts the API and dispatchers only when that succeeded', () => {
    expect(services.migrate.depends_on.postgres.condition).toBe('service_healthy');
    expect(services.migrate.command).toEqual(['tsx', 'services/api/src/cli/migrate.ts']);
    for (const s of ['api', 'dispatcher']) expect(services[s].depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(services.lb.depends_on.api.condition).toBe('service_healthy');
  });

  it('gives Postgres its outbox settings and a health check', () => {
    expect(services.postgres.volumes).toContain('./infra/postgres/postgresql.conf:/etc/postgresql/postgresql.conf:ro');
    expect(services.postgres.command).toContain('config_file=/etc/postgresql/postgresql.conf');
    expect(services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
  });

  it('checks the API on /readyz and the dispatcher by the heartbeat file it is told to write', () => {
    expect(services.api.healthcheck.test.join(' ')).toContain('http://127.0.0.1:3000/readyz');
    const heartbeat = services.dispatcher.environment.DISPATCHER_HEARTBEAT_FILE;
    expect(heartbeat).toMatch(/^\/tmp\//);
    expect(services.dispatcher.healthcheck.test.join(' ')).toContain(`statSync('${heartbeat}')`);
    expect(services.api.healthcheck.test[0]).toBe('CMD');
  });

  it('runs each service with the node options the benchmarks measure it with', () => {
    for (const s of appServices) {
      const entry = (services[s].command ?? ['tsx', 'services/api/src/server.ts'])[1];
      expect(services[s].environment[NODE_OPTIONS], s).toBe(DEPLOYED_NODE_OPTIONS[entry]);
    }
  });

  it('builds one image from infra/Dockerfile and runs files that exist', () => {
    for (const s of appServices) {
      expect(services[s].build.dockerfile).toBe('infra/Dockerfile');
      expect(services[s].image).toBe('policy-push:local');
      const command = services[s].command ?? ['tsx', 'services/api/src/server.ts'];
      expect(existsSync(join(root, command[1]))).toBe(true);
    }
  });

  it('sets only real settings, to values parseConfig accepts, with email wired to the mail catcher', () => {
    const settings = settingsInSource();
    for (const s of appServices) {
      const env = withoutNodeOptions(composeDefaults(services[s].environment));
      for (const name of Object.keys(env)) expect(settings, `${s}: ${name}`).toContain(name);
      const config = parseConfig(env);
      expect(config.databaseUrl).toMatch(/@postgres:5432\//);
      expect(config.providers.smtp?.url).toBe('smtp://mailpit:1025');
    }
    expect(parseConfig(composeDefaults(services.api.environment)).host).toBe('0.0.0.0');
    const substituted = [...read('docker-compose.yml').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]);
    for (const name of substituted) expect(settings).toContain(name);
  });
});

describe('infra/k8s', () => {
  const dir = join(root, 'infra/k8s');
  const kustomization = parseYaml(read('infra/k8s/kustomization.yaml')) as Obj;
  const docs = (kustomization.resources as string[]).flatMap((f) => parseYamlDocs(readFileSync(join(dir, f), 'utf8'))) as Obj[];
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!;
  const container = (d: Obj) => d.spec.template.spec.containers[0];

  it('every manifest parses and the kustomization lists every one but the Secret example', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources, 'secret.example.yaml'].sort()).toEqual(files.sort());
    for (const f of files) for (const d of parseYamlDocs(readFileSync(join(dir, f), 'utf8'))) expect(d.kind).toBeTruthy();
  });

  it('has two API replicas behind a Service, probed on /readyz and /healthz', () => {
    const api = find('Deployment', 'policy-push-api');
    expect(api.spec.replicas).toBe(2);
    expect(container(api).readinessProbe.httpGet.path).toBe('/readyz');
    expect(container(api).livenessProbe.httpGet.path).toBe('/healthz');
    const service = find('Service', 'policy-push-api');
    expect(service.spec.selector).toEqual(api.spec.template.metadata.labels);
    expect(container(api).ports.map((p: Obj) => p.name)).toContain(service.spec.ports[0].targetPort);
  });

  it('has two dispatcher replicas whose liveness probe reads the heartbeat file they write', () => {
    const dispatcher = find('Deployment', 'policy-push-dispatcher');
    expect(dispatcher.spec.replicas).toBe(2);
    const c = container(dispatcher);
    const heartbeat = c.env.find((e: Obj) => e.name === 'DISPATCHER_HEARTBEAT_FILE').value;
    expect(c.livenessProbe.exec.command.join(' ')).toContain(`statSync('${heartbeat}')`);
  });

  it('has a migration Job, and runs every container as non-root from files that exist', () => {
    const job = find('Job', 'policy-push-migrate');
    expect(container(job).command).toEqual(['tsx', 'services/api/src/cli/migrate.ts']);
    for (const d of docs.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      expect(container(d).securityContext.readOnlyRootFilesystem).toBe(true);
      expect(existsSync(join(root, container(d).command[1]))).toBe(true);
    }
  });

  it('ConfigMap, Secret and container env set only real settings, to values parseConfig accepts', () => {
    const settings = settingsInSource();
    const configMap = find('ConfigMap', 'policy-push-config').data as Env;
    const secret = parseYaml(read('infra/k8s/secret.example.yaml')).stringData as Env;
    for (const d of docs.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      const env = Object.fromEntries((container(d).env ?? []).map((e: Obj) => [e.name, e.value]));
      expect(env[NODE_OPTIONS], d.metadata.name).toBe(DEPLOYED_NODE_OPTIONS[container(d).command?.[1]]);
      const all = withoutNodeOptions({ ...configMap, ...secret, ...env });
      for (const name of Object.keys(all)) expect(settings, name).toContain(name);
      expect(() => parseConfig(all)).not.toThrow();
    }
  });
});

describe('limits and the proxy in front', () => {
  const nginx = read('infra/nginx/nginx.conf');
  const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, k: 1024, m: 1024 ** 2 };
  /** README "Limits": the body table, as bytes by the first words of its row. */
  function bodyLimitsInReadme(): Record<string, number> {
    const section = read('README.md').split('\n## Limits')[1].split('\n## ')[0];
    const rows = [...section.matchAll(/^\s*\| ([^|]+?) \| (\d+) (KiB|MiB) \|$/gm)];
    return Object.fromEntries(rows.map((m) => [m[1].split(' (')[0], Number(m[2]) * UNITS[m[3]]]));
  }

  it('the body limits in the README are what the code enforces', () => {
    expect(bodyLimitsInReadme()).toEqual({
      JSON: JSON_BODY_LIMIT,
      'CSV imports': CSV_BODY_LIMIT,
      "WeChat's XML": XML_LIMIT,
      'unsubscribe form': FORM_LIMIT,
    });
  });

  it('the load balancers let the largest body through, and no larger', () => {
    const largest = Math.max(...Object.values(bodyLimitsInReadme()));
    const nginxLimit = /client_max_body_size (\d+)([km]);/.exec(nginx)!;
    expect(Number(nginxLimit[1]) * UNITS[nginxLimit[2]]).toBe(largest);
    const ingress = /proxy-body-size: (\d+)([km])\b/.exec(read('infra/k8s/api.yaml'))!;
    expect(Number(ingress[1]) * UNITS[ingress[2]]).toBe(largest);
  });

  it('nginx overwrites X-Forwarded-For with its peer, and compose and k8s trust their proxy', () => {
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(nginx).not.toContain('$proxy_add_x_forwarded_for');
    const compose = parseYaml(read('docker-compose.yml')).services as Obj;
    expect(parseConfig(composeDefaults(compose.api.environment)).trustProxy).toEqual({ addresses: ['uniquelocal'] });
    const configMap = parseYaml(read('infra/k8s/configmap.yaml')).data as Env;
    expect(parseConfig({ TRUST_PROXY: configMap.TRUST_PROXY }).trustProxy).toEqual({ addresses: ['uniquelocal'] });
  });
});

describe('infra/Dockerfile', () => {
  const dockerfile = read('infra/Dockerfile');

  it('is multi-stage, installs production dependencies from the lockfile, and runs as the node user', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toContain('pnpm install --frozen-lockfile --prod');
    expect(dockerfile).toMatch(/^USER node$/m);
    const tsx = JSON.parse(read('package.json')).devDependencies.tsx;
    expect(dockerfile).toContain(`tsx@${tsx}`);
  });

  it("copies every workspace package's manifest before installing", () => {
    for (const group of ['packages', 'services']) {
      for (const name of readdirSync(join(root, group))) {
        if (!existsSync(join(root, group, name, 'package.json'))) continue;
        expect(dockerfile).toContain(`COPY ${group}/${name}/package.json ${group}/${name}/`);
      }
    }
  });
});
