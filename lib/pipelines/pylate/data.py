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
