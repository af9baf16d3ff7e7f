import { readFileSync } from 'node:fs';
import { ConfigError } from '@shop/platform';
import { describe, expect, it } from 'vitest';
import { readConfig, SUBSCRIPTION_DEFAULTS, type SubscriptionConfig } from '../src/config.ts';

/** Each variable, the field it sets, a value in range, and values out of range (below, above, not an integer). */
const VARIABLES: [string, keyof Omit<SubscriptionConfig, 'enabled'>, number, string[]][] = [
  ['SUBSCRIPTION_MAX_PER_CONNECTION', 'maxPerConnection', 5, ['0', '10001', '2.5']],
  ['SUBSCRIPTION_MAX_PER_USER', 'maxPerUser', 7, ['0', '1000001', 'many']],
  ['SUBSCRIPTION_MAX_CONNECTIONS_PER_IP', 'maxConnectionsPerIp', 3, ['0', '1000001', '-1']],
  ['SUBSCRIPTION_MAX_CONNECTIONS', 'maxConnections', 100, ['0', '10000001', '1e9']],
  ['SUBSCRIPTION_INIT_TIMEOUT_MS', 'initTimeoutMs', 500, ['9', '600001', 'soon']],
  ['SUBSCRIPTION_KEEPALIVE_MS', 'keepAliveMs', 1_000, ['9', '3600001', '15s']],
  ['SUBSCRIPTION_IDLE_TIMEOUT_MS', 'idleTimeoutMs', 30_000, ['9', '86400001', '1.5']],
  ['SUBSCRIPTION_MAX_MESSAGE_BYTES', 'maxMessageBytes', 4_096, ['255', String(16 * 1024 ** 2 + 1), 'x']],
  ['SUBSCRIPTION_MAX_BUFFERED_BYTES', 'maxBufferedBytes', 2_048, ['1023', String(1024 ** 3 + 1), 'x']],
  ['SUBSCRIPTION_MAX_PRODUCT_IDS', 'maxProductIds', 50, ['0', '1001', 'x']],
  ['SUBSCRIPTION_RESUME_WINDOW_MS', 'resumeWindowMs', 0, ['-1', '86400001', 'x']],
  ['SUBSCRIPTION_RESUME_MAX_EVENTS', 'resumeMaxEvents', 0, ['-1', '10000001', 'x']],
];

describe('router config: subscriptions', () => {
  it('defaults to subscriptions on, held to SUBSCRIPTION_DEFAULTS (the values the README documents)', () => {
    expect(readConfig({}).subscriptions).toEqual({ enabled: true, ...SUBSCRIPTION_DEFAULTS });
    // Set but empty is unset, as for every other variable.
    expect(readConfig({ SUBSCRIPTION_KEEPALIVE_MS: '' }).subscriptions.keepAliveMs).toBe(SUBSCRIPTION_DEFAULTS.keepAliveMs);
    expect(SUBSCRIPTION_DEFAULTS).toEqual({
      maxPerConnection: 20,
      maxPerUser: 50,
      maxConnectionsPerIp: 50,
      maxConnections: 5_000,
      initTimeoutMs: 3_000,
      keepAliveMs: 15_000,
      idleTimeoutMs: 60_000,
      maxMessageBytes: 65_536,
      maxBufferedBytes: 1_048_576,
      maxProductIds: 20,
      resumeWindowMs: 300_000,
      resumeMaxEvents: 10_000,
    });
  });

  it('turns subscriptions off with SUBSCRIPTIONS=false and refuses anything but a boolean', () => {
    expect(readConfig({ SUBSCRIPTIONS: 'false' }).subscriptions.enabled).toBe(false);
    expect(readConfig({ SUBSCRIPTIONS: '0' }).subscriptions.enabled).toBe(false);
    expect(readConfig({ SUBSCRIPTIONS: 'true' }).subscriptions.enabled).toBe(true);
    expect(() => readConfig({ SUBSCRIPTIONS: 'sometimes' })).toThrow(ConfigError);
    expect(() => readConfig({ SUBSCRIPTIONS: 'sometimes' })).toThrow(/SUBSCRIPTIONS must be true or false/);
  });

  it('reads every variable at once, over the defaults', () => {
    const env = Object.fromEntries(VARIABLES.map(([name, , value]) => [name, String(value)]));
    const expected = Object.fromEntries(VARIABLES.map(([, field, value]) => [field, value]));
    expect(readConfig(env).subscriptions).toEqual({ enabled: true, ...expected });
  });

  it.each(VARIABLES)('reads %s into %s, leaving the others at their defaults', (name, field, value) => {
    expect(readConfig({ [name]: String(value) }).subscriptions).toEqual({ enabled: true, ...SUBSCRIPTION_DEFAULTS, [field]: value });
  });

  it.each(VARIABLES.flatMap(([name, , , bad]) => bad.map((raw) => [name, raw] as const)))(
    'refuses %s=%j with a ConfigError naming it',
    (name, raw) => {
      const read = () => readConfig({ [name]: raw });
      expect(read).toThrow(ConfigError);
      expect(read).toThrow(new RegExp(`^${name} must be an integer between`));
    },
  );

  it("takes the subscription timeouts as the router's own, not as per-subgraph timeouts of a subgraph named subscription_init", () => {
    const config = readConfig({ SUBSCRIPTION_INIT_TIMEOUT_MS: '100', SUBSCRIPTION_IDLE_TIMEOUT_MS: '200' });
    expect(config.subgraphOverrides).toEqual({});
    expect(config.subscriptions).toMatchObject({ initTimeoutMs: 100, idleTimeoutMs: 200 });
  });
});

describe('README "Subscriptions"', () => {
  it('its bounds table gives every SUBSCRIPTION_* variable with the default the router has', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Subscriptions'), readme.indexOf('\n## ', readme.indexOf('## Subscriptions') + 1));
    const documented = new Map<string, string[]>();
    for (const [, names, defaults] of section.matchAll(/^\| (`SUBSCRIPTION[^|]*) \| ([^|]+) \|/gm)) {
      const variables = [...names!.matchAll(/`([A-Z_]+)`/g)].map((match) => match[1]!);
      const values = defaults!.split(',').map((value) => value.trim());
      for (const [i, variable] of variables.entries()) documented.set(variable, [values[i] ?? '']);
    }
    const defaults = readConfig({}).subscriptions;
    expect([...documented.keys()].sort()).toEqual(['SUBSCRIPTIONS', ...VARIABLES.map(([variable]) => variable)].sort());
    expect(documented.get('SUBSCRIPTIONS')).toEqual([`\`${defaults.enabled}\``]);
    for (const [variable, field] of VARIABLES) expect(documented.get(variable), variable).toEqual([String(defaults[field])]);
  });
});
