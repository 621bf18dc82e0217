def main():
    args = parse_args()
    from sentence_transformers import SentenceTransformerTrainer
    from pylate import losses, utils

    world = world_size()
    per_device = check_divisible(PHASE["batchSize"], world, "batch size")
    model = colbert_model(args)
    train, query_columns, document_columns = contrastive_sources(args.data)
    if args.mini_batch:
        loss = losses.CachedContrastive(
            model=model,
            mini_batch_size=min(args.mini_batch, per_device),
            gather_across_devices=PHASE["gatherAcrossDevices"],
            temperature=PHASE["temperature"],
        )
    else:
        loss = losses.Contrastive(model=model, gather_across_devices=PHASE["gatherAcrossDevices"], temperature=PHASE["temperature"])
    training_args = st_training_args(args, PHASE["batchSize"], True)
    check_distributed(training_args, per_device)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        loss=loss,
        evaluator=nanobeir_evaluator(args),
        data_collator=utils.ColBERTCollator(tokenize_fn=model.tokenize, prompts=prompt_map(query_columns, document_columns)),
    )
    trainer.train()
    save_final(trainer, model.save_pretrained, args.output)


if __name__ == "__main__":
    main()
