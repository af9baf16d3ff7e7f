import { credentialLimitPlugin } from '../credential-limits.ts';
import { operationLimits as limitsFor } from '../limits.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Depth, alias, token and directive limits and demand control (cost and response fields), checked
 * before any subgraph is asked anything (limits.ts, demand-control.ts).
 */
export function operationLimits({ config, metrics }: RouterParts): Stage {
  const limits = limitsFor(config.operationLimits, { hideSuggestions: config.production, exposeCost: !config.production, metrics });
  return {
    name: 'operation-limits',
    apollo: {
      validationRules: limits.validationRules,
      parseOptions: limits.parseOptions,
      plugins: limits.plugins,
      formatError: (formatted, error) => limits.formatError(formatted, error),
    },
  };
}

/**
 * Sign-in and sign-up work per operation and per address (credential-limits.ts), once the
 * operation is resolved. Its refusal sets `no-store`, so it comes after the cache-control stage.
 */
export function credentialLimits(parts: RouterParts): Stage {
  return { name: 'credential-limits', apollo: { plugins: [credentialLimitPlugin(() => parts.credentialLimit)] } };
}
