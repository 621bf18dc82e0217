/**
 * Knowledge distillation, PyLate's `Distillation` convention: for each query, the student's scores over
 * its n candidates and the teacher's scores are both log-softmaxed and the loss is KL(teacher ‖ student),
 * averaged over queries ("batchmean"). PyLate by default min–max normalises the STUDENT scores per query
 * ((s − min) / (max − min + 1e-8)) before the softmax; the teacher scores are used as given. That is
 * `normalizeStudent` here, on by default like PyLate, and recorded in every run's config. `normalizeTeacher`
 * (off by default, not in PyLate) does the same to the teacher's scores, for experiments with the loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import { UserError } from '../util/errors';
import { groupScores } from './embedding-scores';

export interface DistillationOptions {
  /** Min–max normalise student scores per query (PyLate default: true). */
  normalizeStudent?: boolean;
  /**
   * Min–max normalise the TEACHER's scores per query as well (default false: PyLate uses them as given).
   * Puts the teacher on the student's [0, 1] scale, which flattens its softmax; for experiments.
   */
  normalizeTeacher?: boolean;
  /** Divisor of the summed KL; default the number of queries given. */
  normalizer?: number;
}

/** KL(teacher ‖ student) from student scores [B, n] and teacher scores [B, n]. */
export function distillationFromScores(student: tf.Tensor2D, teacher: tf.Tensor2D, opts: DistillationOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    if (student.shape[0] !== teacher.shape[0] || student.shape[1] !== teacher.shape[1]) {
      throw new UserError(`distillation: student scores [${student.shape}] vs teacher scores [${teacher.shape}]`);
    }
    const minMax = (x: tf.Tensor2D): tf.Tensor2D => {
      const mx = tf.max(x, 1, true);
      const mn = tf.min(x, 1, true);
      return tf.div(tf.sub(x, mn), tf.add(tf.sub(mx, mn), 1e-8));
    };
    const s = (opts.normalizeStudent ?? true) ? minMax(student) : student;
    const t = opts.normalizeTeacher ? minMax(teacher) : teacher;
    const logS = tf.logSoftmax(s, 1);
    const logT = tf.logSoftmax(t, 1);
    const kl = tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)));
    return tf.div(kl, opts.normalizer ?? student.shape[0]) as tf.Scalar;
  });
}

/**
 * Distillation on embeddings: `documents` holds n candidates per query, query-major ([B·n, ...]);
 * `teacherScores` is [B, n] (a tensor, or plain rows as a training file holds them).
 */
export function distillationLoss(queries: Encoded, documents: Encoded, teacherScores: tf.Tensor2D | number[][], opts: DistillationOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const teacher = Array.isArray(teacherScores) ? tf.tensor2d(teacherScores) : teacherScores;
    return distillationFromScores(groupScores(queries, documents, teacher.shape[1]), teacher, opts);
  });
}
