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
        **extra,
    )
