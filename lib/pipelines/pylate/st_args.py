def st_training_args(args, per_device_batch, split_batches, prompts=None):
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.training_args import BatchSamplers, MultiDatasetBatchSamplers

    extra = {"prompts": prompts} if prompts else {}
    return SentenceTransformerTrainingArguments(
        output_dir=args.output,
        per_device_train_batch_size=per_device_batch,
        gradient_accumulation_steps=PHASE["accumulationSteps"],
        batch_sampler=BatchSamplers.NO_DUPLICATES if PHASE["avoidDuplicates"] else BatchSamplers.BATCH_SAMPLER,
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL,
        # split_batches: every process reads the same global batch (so all devices draw from the same
        # source) and takes its share of the rows; per_device_train_batch_size is then the global batch.
        accelerator_config={"split_batches": split_batches},
        **length_args(args),
        **schedule_args(args),
        **precision_args(args.precision),
        **ddp_args(),
        **eval_args(args),
        **extra,
    )


def eval_args(args):
    """Evaluation every --eval-steps optimizer steps with the NanoBEIR evaluator; none with --eval-steps 0."""
    if not args.eval_steps:
        return {"eval_strategy": "no"}
    return {"eval_strategy": "steps", "eval_steps": args.eval_steps}


def nanobeir_evaluator(args, dense=False):
    """The NanoBEIR evaluator of PyLate's released ColBERT-Zero scripts (the paper chose learning rate and
    temperature on it): PyLate's for a ColBERT phase, sentence-transformers' for a dense one, with the
    phase's prompts when it has them; None with --eval-steps 0. It downloads the 13 NanoBEIR sets."""
    if not args.eval_steps:
        return None
    if dense:
        from sentence_transformers.evaluation import NanoBEIREvaluator
    else:
        from pylate.evaluation import NanoBEIREvaluator
    prompts = PHASE["prompts"]
    kwargs = {"query_prompts": prompts["query"], "corpus_prompts": prompts["document"]} if prompts else {}
    return NanoBEIREvaluator(**kwargs)
