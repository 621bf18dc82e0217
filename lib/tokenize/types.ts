/** What tokenization produces, for models and training to consume. */

/** Which side of retrieval a text is on: queries and documents get different markers, prompts and lengths. */
export type Role = 'query' | 'document';

/** Token ids for a batch, row-major [n, length], padded. */
export interface TokenizedBatch {
  n: number;
  length: number;
  inputIds: Int32Array;
  /** 1 where the encoder attends (0 for padding, and for expansion [MASK]s unless attended). */
  attentionMask: Int32Array;
  /** 1 where the token's output embedding takes part in scoring (ColBERT: after skiplist, incl. expansion). */
  scoringMask: Int32Array;
}
