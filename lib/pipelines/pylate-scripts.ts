/**
 * The Python text of the exported training scripts (lib/pipelines/export-pylate.ts): one self-contained
 * script per phase, its settings as a JSON block at the top (PHASE), then the code of its objective and
 * setting — masked LM with transformers' Trainer; contrastive phases with sentence-transformers
 * (dense: CachedMultipleNegativesRankingLoss / MultipleNegativesRankingLoss) or PyLate (ColBERT:
 * CachedContrastive / Contrastive); distillation with PyLate's Distillation loss. Written against
 * torch 2.10, transformers 5.3, sentence-transformers 5.3 and pylate 1.6.
 */

/** Shared by every script: arguments, the world size, JSONL sources, precision, the atomic final save. */
const COMMON = String.raw`
import argparse
import json
import os
import shutil
import sys

import torch


def parse_args():
    parser = argparse.ArgumentParser(description=PHASE["description"])
    parser.add_argument("--data", nargs="+", required=True, help="JSONL training files (" + PHASE["dataLayout"] + "); each file is one source: a batch never mixes sources")
    parser.add_argument("--init", required=True, help="starting checkpoint: a folder or a Hugging Face id (default in launch.sh: " + PHASE["defaultInit"] + ")")
    parser.add_argument("--output", required=True, help="run folder: trainer checkpoints, and the final model in OUTPUT/final")
    parser.add_argument("--max-steps", type=int, default=None, help="optimizer steps (default: " + ("one epoch" if PHASE["steps"] is None else str(PHASE["steps"])) + ")")
    parser.add_argument("--epochs", type=float, default=1.0, help="epochs when no step count is set (the paper: one)")
    parser.add_argument("--lr", type=float, default=PHASE["lr"], help="peak learning rate (Table 1 sweeps a range; see README.md)")
    parser.add_argument("--mini-batch", type=int, default=PHASE.get("miniBatch"), help="GradCache mini-batch per device (rows encoded at once)")
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto", help="auto: bf16 where the GPU supports it, else fp32")
    parser.add_argument("--save-steps", type=int, default=500)
    parser.add_argument("--num-workers", type=int, default=0, help="data loader workers per process")
    return parser.parse_args()


def world_size():
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process():
    return int(os.environ.get("RANK", "0")) == 0


def fail(message):
    print(PHASE["id"] + ": " + message, file=sys.stderr)
    sys.exit(1)


def check_divisible(total, parts, what):
    if total % parts != 0:
        fail(what + " " + str(total) + " is not divisible by " + str(parts) + " processes")
    return total // parts


def load_sources(files, columns, prepare=None):
    """One dataset per JSONL file, keyed by the file name (without extension): the proportional sampler draws each batch from one of them."""
    from datasets import DatasetDict, load_dataset

    sources = DatasetDict()
    for file in files:
        if not os.path.isfile(file):
            fail(file + ": data file not found")
        name = os.path.splitext(os.path.basename(file))[0]
        if name in sources:
            fail(file + ": two data files share the name " + name)
        ds = load_dataset("json", data_files=file, split="train")
        missing = [c for c in columns if c not in ds.column_names]
        if missing:
            fail(file + ": lines lack " + ", ".join(missing) + " (expected " + PHASE["dataLayout"] + ")")
        ds = ds.select_columns(columns)
        if prepare is not None:
            ds = prepare(ds, file)
        sources[name] = ds
    return sources


def precision_args(choice):
    bf16 = choice == "bf16" or (choice == "auto" and torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return {"bf16": bf16, "fp16": False}


def ddp_args():
    cuda = torch.cuda.is_available()
    # use_cpu: without a GPU, accelerate runs torchrun's processes as a gloo group only when told to use the CPU.
    return {"ddp_backend": "nccl" if cuda else "gloo", "ddp_find_unused_parameters": False, "use_cpu": not cuda}


def check_distributed(training_args, per_device):
    """Every process must belong to the trainer's process group: a run that silently trained each process alone would differ from the paper's."""
    world = world_size()
    if training_args.world_size != world:
        fail("torchrun started " + str(world) + " processes but the trainer sees " + str(training_args.world_size))
    if is_main_process():
        print(PHASE["id"] + ": " + str(world) + " process(es) (" + str(training_args.parallel_mode).split(".")[-1].lower() + "), " + str(per_device) + " rows per device and step", file=sys.stderr)


def length_args(args):
    steps = args.max_steps if args.max_steps is not None else PHASE["steps"]
    if steps is not None:
        return {"max_steps": steps, "num_train_epochs": 1}
    return {"num_train_epochs": args.epochs}


def schedule_args(args):
    return {
        "learning_rate": args.lr,
        "warmup_steps": PHASE["warmupSteps"],
        "lr_scheduler_type": "linear",
        "weight_decay": PHASE["weightDecay"],
        "max_grad_norm": PHASE["maxGradNorm"],
        "seed": PHASE["seed"],
        "data_seed": PHASE["seed"],
        "logging_steps": 1,
        "save_steps": args.save_steps,
        "save_total_limit": 1,
        "report_to": "none",
        "dataloader_drop_last": True,
        "dataloader_num_workers": args.num_workers,
    }


def save_final(trainer, save, output):
    """The final model in OUTPUT/final, written by the main process into a temporary folder and renamed."""
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        final = os.path.join(output, "final")
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        save(tmp)
        with open(os.path.join(tmp, "colbert-zero-phase.json"), "w") as f:
            json.dump(PHASE, f, indent=2)
        if os.path.isdir(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
        print(PHASE["id"] + ": final model in " + final, file=sys.stderr)
    trainer.accelerator.wait_for_everyone()
`;

/** Contrastive (unsupervised pairs, supervised triples) and distillation data: the columns PyLate / ST expect. */
const DATA = String.raw`
def contrastive_sources(files):
    if PHASE["objective"] == "unsupervised":
        return load_sources(files, ["query", "document"]), ["query"], ["document"]
    n = PHASE["negatives"]
    negative_columns = ["negative_" + str(i) for i in range(n)]

    def prepare(ds, file):
        short = ds.filter(lambda e: len(e["negatives"]) < n)
        if len(short) > 0:
            fail(file + ": " + str(len(short)) + " lines have fewer than " + str(n) + " negatives")

        def split(e):
            out = {"query": e["query"], "positive": e["positive"]}
            for i, c in enumerate(negative_columns):
                out[c] = e["negatives"][i]
            return out

        return ds.map(split, remove_columns=["negatives"])

    return load_sources(files, ["query", "positive", "negatives"], prepare), ["query"], ["positive", *negative_columns]


def distillation_sources(files):
    k = PHASE["candidates"]

    def prepare(ds, file):
        short = ds.filter(lambda e: len(e["documents"]) < k or len(e["scores"]) < k)
        if len(short) > 0:
            fail(file + ": " + str(len(short)) + " lines have fewer than " + str(k) + " documents or scores")
        return ds.map(lambda e: {"query": e["query"], "documents": e["documents"][:k], "scores": [float(s) for s in e["scores"][:k]]})

    return load_sources(files, ["query", "documents", "scores"], prepare)


def record_prompts(model):
    """The saved model records this phase's prompts (none when it runs without), not its parent's."""
    model.prompts = dict(PHASE["prompts"]) if PHASE["prompts"] else {"query": "", "document": ""}
    return model


def prompt_map(query_columns, document_columns):
    """Column name -> prompt (empty when the phase runs without prompts)."""
    if not PHASE["prompts"]:
        return None
    out = {c: PHASE["prompts"]["query"] for c in query_columns}
    out.update({c: PHASE["prompts"]["document"] for c in document_columns})
    return out
`;

const MLM = String.raw`
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
`;

/** Arguments shared by the sentence-transformers trainers (contrastive and distillation). */
const ST_ARGS = String.raw`
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
`;

/** Four spaces before every non-empty line: a part of main()'s body. */
function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n');
}

/**
 * The main() of a sentence-transformers phase (contrastive ColBERT or dense, distillation): the steps every
 * one takes — arguments, the per-device batch, the model with this phase's prompts, the data, the loss, the
 * training arguments checked against torchrun's group, the trainer, the final save — with the parts that
 * differ given as Python at main()'s indentation.
 */
function stMain(p: { imports: string; note?: string; model: string; data: string; loss: string; trainingArgs: string; collator?: string }): string {
  const body = [
    'args = parse_args()',
    p.imports,
    '',
    'world = world_size()',
    ...(p.note ? [p.note] : []),
    'per_device = check_divisible(PHASE["batchSize"], world, "batch size")',
    'prompts = PHASE["prompts"] or None',
    p.model,
    'record_prompts(model)',
    p.data,
    p.loss,
    `training_args = ${p.trainingArgs}`,
    'check_distributed(training_args, per_device)',
    'trainer = SentenceTransformerTrainer(',
    '    model=model,',
    '    args=training_args,',
    '    train_dataset=train,',
    '    loss=loss,',
    ...(p.collator ? [`    data_collator=${p.collator},`] : []),
    ')',
    'trainer.train()',
    'save_final(trainer, model.save_pretrained, args.output)',
  ].join('\n');
  return `\ndef main():\n${indent(body)}\n\n\nif __name__ == "__main__":\n    main()\n`;
}

/** PyLate's ColBERT model with this phase's lengths, dimension and prompts (contrastive and distillation). */
const COLBERT_MODEL = String.raw`model = models.ColBERT(
    model_name_or_path=args.init,
    query_length=PHASE["queryLength"],
    document_length=PHASE["documentLength"],
    embedding_size=PHASE["dim"],
    prompts=prompts,
)`;

const PYLATE_IMPORTS = 'from sentence_transformers import SentenceTransformerTrainer\nfrom pylate import losses, models, utils';

const CONTRASTIVE_COLBERT = stMain({
  imports: PYLATE_IMPORTS,
  model: COLBERT_MODEL,
  data: 'train, query_columns, document_columns = contrastive_sources(args.data)',
  loss: String.raw`if args.mini_batch:
    loss = losses.CachedContrastive(
        model=model,
        mini_batch_size=min(args.mini_batch, per_device),
        gather_across_devices=PHASE["gatherAcrossDevices"],
        temperature=PHASE["temperature"],
    )
else:
    loss = losses.Contrastive(model=model, gather_across_devices=PHASE["gatherAcrossDevices"], temperature=PHASE["temperature"])`,
  trainingArgs: 'st_training_args(args, PHASE["batchSize"], True)',
  collator: 'utils.ColBERTCollator(tokenize_fn=model.tokenize, prompts=prompt_map(query_columns, document_columns))',
});

const CONTRASTIVE_DENSE =
  String.raw`
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

` +
  stMain({
    imports: 'from sentence_transformers import SentenceTransformerTrainer, losses',
    model: String.raw`# One sequence length for queries and documents: sentence-transformers truncates both at max_seq_length.
model = dense_model(args.init, max(PHASE["queryLength"], PHASE["documentLength"]), prompts)`,
    data: 'train, query_columns, document_columns = contrastive_sources(args.data)',
    loss: String.raw`scale = 1.0 / PHASE["temperature"]
if args.mini_batch:
    loss = losses.CachedMultipleNegativesRankingLoss(model, scale=scale, mini_batch_size=min(args.mini_batch, per_device), gather_across_devices=PHASE["gatherAcrossDevices"])
else:
    loss = losses.MultipleNegativesRankingLoss(model, scale=scale, gather_across_devices=PHASE["gatherAcrossDevices"])`,
    trainingArgs: 'st_training_args(args, PHASE["batchSize"], True, prompt_map(query_columns, document_columns))',
  });

const DISTILLATION = stMain({
  imports: PYLATE_IMPORTS,
  note: String.raw`# Distillation needs no cross-device negatives: each process takes its own share of the batch, and
# gradient accumulation makes the effective batch (Table 1: 128 = 64 x 2).`,
  model: COLBERT_MODEL,
  data: 'train = distillation_sources(args.data)',
  loss: 'loss = losses.Distillation(model=model, normalize_scores=PHASE["normalizeScores"])',
  trainingArgs: 'st_training_args(args, per_device, False)',
  collator: 'utils.ColBERTCollator(tokenize_fn=model.tokenize, prompts=prompt_map(["query"], ["documents"]))',
});

/** The script of one phase: header, settings (JSON, read with json.loads), common helpers, its objective's code. */
export function phaseScript(o: { header: string[]; settings: Record<string, unknown>; objective: string; setting: string }): string {
  const json = JSON.stringify(o.settings, null, 2);
  if (json.includes("'''")) throw new Error('phase settings contain a triple quote');
  const head = ['#!/usr/bin/env python3', ...o.header.map((l) => `# ${l}`), '', 'import json as _json', '', `PHASE = _json.loads(r'''${json}''')`].join('\n');
  const body =
    o.objective === 'mlm'
      ? MLM
      : o.objective === 'distillation'
        ? DATA + ST_ARGS + DISTILLATION
        : DATA + ST_ARGS + (o.setting === 'dense' ? CONTRASTIVE_DENSE : CONTRASTIVE_COLBERT);
  return head + '\n' + COMMON + body;
}
