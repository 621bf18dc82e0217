def contrastive_sources(files):
    if PHASE["objective"] == "unsupervised":
        return load_sources(files, ["query", "document"]), ["query"], ["document"]
    cap = PHASE["negatives"]

    def prepare(ds, file):
        # As PyLate's released supervised script: each source keeps min(its fewest negatives on a line, the cap)
        # negatives per line, the first ones (a batch holds one source, so its lines agree).
        n = min(fewest_negatives(ds), cap)
        if n < cap and is_main_process():
            print(PHASE["id"] + ": " + file + ": a line has only " + str(n) + " negatives: this source uses " + str(n) + " per line (at most " + str(cap) + ")", file=sys.stderr)
        columns = ["negative_" + str(i) for i in range(n)]

        def split(e):
            out = {"query": e["query"], "positive": e["positive"]}
            for i, c in enumerate(columns):
                out[c] = e["negatives"][i]
            return out

        return ds.map(split, remove_columns=["negatives"])

    return load_sources(files, ["query", "positive", "negatives"], prepare), ["query"], ["positive", *["negative_" + str(i) for i in range(cap)]]


def fewest_negatives(ds):
    """The fewest negatives on a line of one source (counted without holding the texts)."""
    counts = ds.map(lambda e: {"count": len(e["negatives"])}, remove_columns=ds.column_names)["count"]
    return min(counts, default=0)


def distillation_sources(files):
    k = PHASE["candidates"]

    def prepare(ds, file):
        # PyLate keeps the first k (KDProcessing's n_ways) of longer lists. A line with fewer cannot share a
        # batch with the others (PyLate's Distillation loss reshapes the batch's documents to batch x k), so
        # it stops the run here, naming the file and the first such line.
        flags = ds.map(lambda e, i: {"short": i if len(e["documents"]) < k or len(e["scores"]) < k else -1}, with_indices=True, remove_columns=ds.column_names)["short"]
        short = [i for i in flags if i >= 0]
        if short:
            fail(file + ":" + str(short[0] + 1) + ": " + str(len(short)) + " line(s) have fewer than " + str(k) + " documents or scores (PyLate keeps the first " + str(k) + " of longer lists; shorter ones cannot share a batch)")
        return ds.map(lambda e: {"query": e["query"], "documents": e["documents"][:k], "scores": [float(s) for s in e["scores"][:k]]})

    return load_sources(files, ["query", "documents", "scores"], prepare)


def record_prompts(model):
    """The saved model records this phase's prompts (none when it runs without), not its parent's."""
    model.prompts = dict(PHASE["prompts"]) if PHASE["prompts"] else {"query": "", "document": ""}
    return model


def colbert_model(args):
    """The phase's ColBERT model from --init: its lengths, projection, prompts and pinned attention, recorded when saved."""
    from pylate import models

    model = models.ColBERT(
        model_name_or_path=args.init,
        query_length=PHASE["queryLength"],
        document_length=PHASE["documentLength"],
        embedding_size=PHASE["dim"],
        prompts=PHASE["prompts"] or None,
        model_kwargs=attention_kwargs(),
    )
    record_prompts(model)
    return record_expansion(model)


def prompt_map(query_columns, document_columns):
    """Column name -> prompt (empty when the phase runs without prompts)."""
    if not PHASE["prompts"]:
        return None
    out = {c: PHASE["prompts"]["query"] for c in query_columns}
    out.update({c: PHASE["prompts"]["document"] for c in document_columns})
    return out
