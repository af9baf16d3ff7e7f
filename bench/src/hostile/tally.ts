/**
 * What came back for each finding's requests: status codes, error codes, and whether each answer
 * shows the finding defended (the issue's "what must happen"), not defended, or not judged (a 429
 * from the rate limit says nothing about the defence under test, and some findings are judged on
 * the whole run, not per answer: memory for F2, the victim's sign-ins for F4).
 */
import { countOutcome, type OutcomeCounts } from '@shop/stack/hostile-requests';
import type { Outcome } from './client.ts';

export interface FindingTally extends OutcomeCounts {
  defended: number;
  notDefended: number;
  /** Answers that break the rules for any bad input: a 5xx, no GraphQL error shape, a leak of internals. */
  problems: number;
  /** The first few answers that were not defended or had a problem. */
  samples: string[];
  /** For the existing generator: requests per category. */
  categories?: Record<string, number>;
}

export type Verdict = boolean | undefined;

export class Tallies {
  readonly byFinding = new Map<string, FindingTally>();

  of(finding: string): FindingTally {
    let tally = this.byFinding.get(finding);
    if (!tally) {
      tally = { sent: 0, statuses: {}, codes: {}, defended: 0, notDefended: 0, problems: 0, samples: [] };
      this.byFinding.set(finding, tally);
    }
    return tally;
  }

  record(finding: string, outcome: Outcome, verdict: Verdict, problems: string[] = [], what = '', category?: string) {
    const tally = this.of(finding);
    countOutcome(tally, outcome);
    if (category) (tally.categories ??= {})[category] = (tally.categories[category] ?? 0) + 1;
    // A rate-limit refusal is judged only where the limit is the defence (F8 counts it itself).
    const judged = outcome.status === 429 ? undefined : verdict;
    if (judged === true) tally.defended++;
    if (judged === false) tally.notDefended++;
    if (problems.length) tally.problems++;
    if ((judged === false || problems.length) && tally.samples.length < 3) {
      const detail = outcome.transport ?? `HTTP ${outcome.status} ${outcome.text.slice(0, 200)}`;
      tally.samples.push(`${what ? `${what}: ` : ''}${problems.length ? `[${problems.join('; ')}] ` : ''}${detail}`);
    }
  }

  /** Every 5xx (and every transport failure: a dead or stuck process) across all findings. */
  totals() {
    let sent = 0;
    let fiveHundreds = 0;
    let transport = 0;
    for (const tally of this.byFinding.values()) {
      sent += tally.sent;
      transport += tally.statuses.transport ?? 0;
      for (const [status, n] of Object.entries(tally.statuses)) if (Number(status) >= 500) fiveHundreds += n;
    }
    return { sent, fiveHundreds, transport };
  }
}
