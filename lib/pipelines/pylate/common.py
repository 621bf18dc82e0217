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
    if PHASE["objective"] != "mlm":
        parser.add_argument("--eval-steps", type=int, default=PHASE["evalSteps"] or 0, help="evaluate on NanoBEIR every this many steps, as PyLate's released scripts (0: never; it downloads the NanoBEIR sets)")
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


def attention_kwargs():
    """The ColBERT model's model_kwargs: the attention implementation of PHASE's expansion-token setting, pinned (README.md: Environment)."""
    impl = PHASE["attnImplementation"]
    if impl == "flash_attention_2":
        import importlib.util

        import transformers

        if importlib.util.find_spec("flash_attn") is None or not torch.cuda.is_available():
            fail('expansion tokens "zeroed" (the paper\'s setting) needs Flash Attention 2: flash-attn installed and a CUDA GPU (export with --expansion-tokens scored for eager attention)')
        if int(transformers.__version__.split(".")[0]) >= 5:
            print(PHASE["id"] + ": warning: transformers " + transformers.__version__ + " pads ModernBERT's Flash Attention output back per layer, so unattended [MASK] expansion tokens are not zero as they were for the paper (transformers 4.x); see README.md", file=sys.stderr)
    return {"attn_implementation": impl}


def record_expansion(model):
    """The saved model records its expansion-token setting (colbert-zero reads `expansion_tokens`)."""
    model._model_config["expansion_tokens"] = PHASE["expansionTokens"]
    return model
