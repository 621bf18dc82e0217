/**
 * The losses step by step, in float64 on plain score matrices, for reading and teaching: every
 * intermediate (logits, softmax, log-softmax, the per-query terms) is returned. They compute what
 * `infoNCEFromScores` and `distillationFromScores` compute on tensors (test/losses-explain.test.ts checks
 * both against each other and against hand-computed values); training uses the tensor versions.
 */

/** (x − min) / (max − min + 1e-8) over one row: PyLate's per-query min–max normalisation. */
export function minMaxNormalize(row: readonly number[]): number[] {
  const mn = Math.min(...row);
  const mx = Math.max(...row);
  return row.map((x) => (x - mn) / (mx - mn + 1e-8));
}

/** log(softmax(row)), computed stably (the row's maximum subtracted first). */
function logSoftmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}

export interface InfoNCEWalkthrough {
  /** scores / temperature, [queries][documents]. */
  logits: number[][];
  /** Row-wise softmax of the logits: how much probability each document gets for each query. */
  probabilities: number[][];
  /** Column of each query's positive (i · docsPerQuery). */
  labels: number[];
  /** Probability the softmax gives each query's positive. */
  positiveProbability: number[];
  /** −log of it: each query's term of the loss. */
  perQuery: number[];
  /** Mean of `perQuery`: the InfoNCE loss. */
  loss: number;
}

/**
 * InfoNCE from a [queries][documents] score matrix whose documents are laid out query-major (query i's
 * positive at column i · docsPerQuery, then its hard negatives; every other column is an in-batch
 * negative), as `contrastiveLoss` computes it.
 */
export function infoNCEByHand(scores: readonly (readonly number[])[], o: { temperature: number; docsPerQuery?: number }): InfoNCEWalkthrough {
  const n = o.docsPerQuery ?? 1;
  if (!(o.temperature > 0)) throw new Error(`infoNCEByHand: temperature must be positive, got ${o.temperature}`);
  const logits = scores.map((r) => r.map((s) => s / o.temperature));
  const logp = logits.map(logSoftmax);
  const labels = scores.map((r, i) => {
    if (i * n >= r.length) throw new Error(`infoNCEByHand: positive column ${i * n} outside ${r.length} documents`);
    return i * n;
  });
  const perQuery = logp.map((r, i) => -r[labels[i]]);
  return {
    logits,
    probabilities: logp.map((r) => r.map(Math.exp)),
    labels,
    positiveProbability: perQuery.map((l) => Math.exp(-l)),
    perQuery,
    loss: perQuery.reduce((a, b) => a + b, 0) / Math.max(1, perQuery.length),
  };
}

export interface DistillationWalkthrough {
  /** The student's scores as the loss sees them (min–max normalised per query when asked). */
  student: number[][];
  /** The teacher's scores as the loss sees them (min–max normalised per query when asked). */
  teacher: number[][];
  /** softmax of the teacher's scores: the target distribution over each query's candidates. */
  teacherProbabilities: number[][];
  /** log-softmax of the student's scores. */
  studentLogProbabilities: number[][];
  /** softmax of the student's scores. */
  studentProbabilities: number[][];
  /** KL(teacher ‖ student) of each query: Σ p_t · (log p_t − log p_s). */
  perQuery: number[];
  /** Mean over queries ("batchmean"): the distillation loss. */
  loss: number;
}

/**
 * KL(teacher ‖ student) over each query's candidates, as `distillationLoss` computes it: the student's
 * scores min–max normalised per query when `normalizeStudent` (default true, PyLate's default), the
 * teacher's when `normalizeTeacher` (default false; PyLate leaves the teacher as given).
 */
export function distillationByHand(
  student: readonly (readonly number[])[],
  teacher: readonly (readonly number[])[],
  o: { normalizeStudent?: boolean; normalizeTeacher?: boolean } = {},
): DistillationWalkthrough {
  if (student.length !== teacher.length || student.some((r, i) => r.length !== teacher[i].length)) {
    throw new Error('distillationByHand: student and teacher score matrices differ in shape');
  }
  const s = student.map((r) => ((o.normalizeStudent ?? true) ? minMaxNormalize(r) : [...r]));
  const t = teacher.map((r) => (o.normalizeTeacher ? minMaxNormalize(r) : [...r]));
  const logS = s.map(logSoftmax);
  const logT = t.map(logSoftmax);
  const perQuery = logT.map((r, i) => r.reduce((a, lt, j) => a + Math.exp(lt) * (lt - logS[i][j]), 0));
  return {
    student: s,
    teacher: t,
    teacherProbabilities: logT.map((r) => r.map(Math.exp)),
    studentLogProbabilities: logS,
    studentProbabilities: logS.map((r) => r.map(Math.exp)),
    perQuery,
    loss: perQuery.reduce((a, b) => a + b, 0) / Math.max(1, perQuery.length),
  };
}
