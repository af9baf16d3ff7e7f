import { requestShapeCheck } from '../request-shape.ts';
import { requestSizeGuard } from '../request-size.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Refuses `variables`/`extensions` nested deeper than MAX_INPUT_DEPTH (request-shape.ts), before anything keys, shares or
 * measures them.
 */
export function requestShape({ config }: RouterParts): Stage {
  return { name: 'request-shape', preValidation: requestShapeCheck({ maxDepth: config.maxInputDepth }) };
}

/** Refuses documents, variables and extensions over their byte caps (request-size.ts), before anything keys, stores or parses them. */
export function requestSize({ config }: RouterParts): Stage {
  return { name: 'request-size', preValidation: requestSizeGuard(config) };
}
