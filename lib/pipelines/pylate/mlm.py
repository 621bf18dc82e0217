def main():
    args = parse_args()
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer, TrainingArguments
    from datasets import concatenate_datasets

    world = world_size()
    per_device = check_divisible(PHASE["batchSize"], world, "batch size")
    tokenizer = AutoTokenizer.from_pretrained(args.init)
    model = AutoModelForMaskedLM.from_pretrained(args.init)
    sources = load_sources(args.data, ["text"])
    text = concatenate_datasets(list(sources.values()))
    max_length = PHASE["documentLength"]
    train = text.map(lambda b: tokenizer(b["text"], truncation=True, max_length=max_length, return_special_tokens_mask=True), batched=True, remove_columns=["text"])
    collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=True, mlm_probability=PHASE["maskProbability"])
    training_args = TrainingArguments(
        output_dir=args.output,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=PHASE["accumulationSteps"],
        **length_args(args),
        **schedule_args(args),
        **precision_args(args.precision),
        **ddp_args(),
    )
    check_distributed(training_args, per_device)
    trainer = Trainer(model=model, args=training_args, train_dataset=train, data_collator=collator)
    trainer.train()

    def save(folder):
        trainer.model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    save_final(trainer, save, args.output)


if __name__ == "__main__":
    main()
