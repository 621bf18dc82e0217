/** The records every reader produces and every evaluator consumes (BEIR's vocabulary). */

export interface Doc {
  id: string;
  title: string; // '' when the corpus has none
  text: string;
}

export interface Query {
  id: string;
  text: string;
}

/** Relevance judgments: query id → document id → graded relevance (≤ 0 is non-relevant). */
export type Qrels = Map<string, Map<string, number>>;

/** A ranked run: query id → document id → score (higher is better; ranks are derived, never stored). */
export type Run = Map<string, Map<string, number>>;
