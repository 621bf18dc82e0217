def main():
    args = parse_args()
    from sentence_transformers import SentenceTransformerTrainer
    from pylate import losses, utils

    world = world_size()
    # Distillation needs no cross-device negatives: each process takes its own share of the batch, and
    # gradient accumulation makes the effective batch (Table 1: 128 = 64 x 2).
    per_device = check_divisible(PHASE["batchSize"], world, "batch size")
    model = colbert_model(args)
    train = distillation_sources(args.data)
    loss = losses.Distillation(model=model, normalize_scores=PHASE["normalizeScores"])
    training_args = st_training_args(args, per_device, False)
    check_distributed(training_args, per_device)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        loss=loss,
        evaluator=nanobeir_evaluator(args),
        data_collator=utils.ColBERTCollator(tokenize_fn=model.tokenize, prompts=prompt_map(["query"], ["documents"])),
    )
    trainer.train()
    save_final(trainer, model.save_pretrained, args.output)


if __name__ == "__main__":
    main()
