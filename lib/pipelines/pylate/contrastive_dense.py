def dense_model(init, max_length, prompts):
    """A sentence-transformers model: the folder as saved, or a bare transformer with mean pooling and L2 normalisation."""
    from sentence_transformers import SentenceTransformer, models

    if os.path.isfile(os.path.join(init, "modules.json")) or not os.path.isdir(init):
        model = SentenceTransformer(init, prompts=prompts)
    else:
        transformer = models.Transformer(init, max_seq_length=max_length)
        pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], prompts=prompts)
    model.max_seq_length = max_length
    return model


def main():
    args = parse_args()
    from sentence_transformers import SentenceTransformerTrainer, losses

    world = world_size()
    per_device = check_divisible(PHASE["batchSize"], world, "batch size")
    prompts = PHASE["prompts"] or None
    # One sequence length for queries and documents: sentence-transformers truncates both at max_seq_length.
    model = dense_model(args.init, max(PHASE["queryLength"], PHASE["documentLength"]), prompts)
    record_prompts(model)
    train, query_columns, document_columns = contrastive_sources(args.data)
    scale = 1.0 / PHASE["temperature"]
    if args.mini_batch:
        loss = losses.CachedMultipleNegativesRankingLoss(model, scale=scale, mini_batch_size=min(args.mini_batch, per_device), gather_across_devices=PHASE["gatherAcrossDevices"])
    else:
        loss = losses.MultipleNegativesRankingLoss(model, scale=scale, gather_across_devices=PHASE["gatherAcrossDevices"])
    training_args = st_training_args(args, PHASE["batchSize"], True, prompt_map(query_columns, document_columns))
    check_distributed(training_args, per_device)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        loss=loss,
        evaluator=nanobeir_evaluator(args, dense=True),
    )
    trainer.train()
    save_final(trainer, model.save_pretrained, args.output)


if __name__ == "__main__":
    main()
