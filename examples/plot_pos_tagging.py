"""
===========================================
Part-of-speech tagging of Turkish sentences
===========================================

A bidirectional :class:`~skrnn.GRUTagger` tags every token of real sentences from the
Turkish Web Treebank (the ``turkish-treebanks`` package). Each token is described by
hashed character suffixes and prefixes, and the tagger reads the whole sentence in both
directions. It is compared with the classic baseline that gives each word its most
frequent tag in training, on words seen in training and on unseen ones.
"""

# %%
# Loading the treebank
# --------------------
# The package installs its CoNLL-U files as ``data/web.conllu`` and ``data/wiki.conllu``
# (next to, not inside, the ``turkish_treebanks`` package), so they are located through
# the distribution's installed-file record. (The package's own reader,
# ``turkish_treebanks.read``, imports protobuf code generated for protobuf 3, which recent
# protobuf releases refuse to load; reading CoNLL-U takes only a few lines anyway.) We use
# the web section (forums and blogs: short sentences) and the package's own split: of
# every ten consecutive sentences, the first eight are for training, the ninth for
# development (unused here), the tenth for testing. Each token is a word or an
# inflectional group of a word (``Açık`` + ``la`` + ``nma`` + ``yan``); those glued to the
# next token carry ``SpaceAfter=No``. Its tag is the coarse UPOS column.
import warnings
from collections import Counter, defaultdict
from importlib.metadata import distribution
from zlib import crc32

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import ConfusionMatrixDisplay

from skrnn import GRUTagger


def read_conllu(text):
    """Sentences as lists of (form, upos, glued_to_next) tuples."""
    sentences = []
    for block in text.split("\n\n"):
        tokens = []
        for line in block.splitlines():
            cols = line.split("\t")
            if line.startswith("#") or len(cols) != 10 or not cols[0].isdigit():
                continue  # comments, multiword tokens (3-4) and empty nodes (3.1)
            tokens.append((cols[1], cols[3], "SpaceAfter=No" in cols[9]))
        if tokens:
            sentences.append(tokens)
    return sentences


path = distribution("turkish-treebanks").locate_file("data/web.conllu")
sentences = read_conllu(path.read_text(encoding="utf-8"))
train = [s for i, s in enumerate(sentences) if i % 10 < 8]
test = [s for i, s in enumerate(sentences) if i % 10 == 9]
print(f"{len(train)} training and {len(test)} test sentences, "
      f"{sum(map(len, train))} and {sum(map(len, test))} tokens")

# %%
# Token features
# --------------
# Turkish is agglutinative: the suffixes carry most of the part of speech. Each token is a
# hashed bag of its lower-cased form, its suffixes and prefixes (up to four characters)
# and its character trigrams, plus shape flags: capitalised, digit, punctuation, length,
# whether it is glued to its neighbours and whether it starts the sentence. Hashing (with
# CRC32, so the features are the same in every run) keeps the width fixed whatever the
# vocabulary.
N_HASH = 2048
N_SHAPE = 7


def token_features(form):
    x = np.zeros(N_HASH + N_SHAPE, dtype=np.float32)
    w = form.lower()
    keys = [f"w={w}"]
    keys += [f"s{k}={w[-k:]}" for k in range(1, 5) if len(w) >= k]
    keys += [f"p{k}={w[:k]}" for k in range(1, 4) if len(w) >= k]
    padded = f"<{w}>"
    keys += [f"3={padded[i:i + 3]}" for i in range(len(padded) - 2)]
    for key in keys:
        h = crc32(key.encode())
        x[h % N_HASH] += 1.0 if h >> 31 else -1.0  # signed hashing: the top bit is the sign
    x[:N_HASH] /= np.sqrt(len(keys))
    x[N_HASH:N_HASH + 4] = [form[:1].isupper(), any(c.isdigit() for c in form),
                            not any(c.isalnum() for c in form), len(form) / 10]
    return x


cache = {}  # features of each distinct form, computed once


def sentence_features(sentence):
    for form, _, _ in sentence:
        if form not in cache:
            cache[form] = token_features(form)
    X = np.stack([cache[form] for form, _, _ in sentence])  # a copy, safe to edit
    glued = np.array([g for _, _, g in sentence], dtype=np.float32)
    X[:, N_HASH + 4] = glued  # glued to the next token
    X[1:, N_HASH + 5] = glued[:-1]  # glued to the previous token
    X[0, N_HASH + 6] = 1.0  # first token of the sentence
    return X


X_train = [sentence_features(s) for s in train]
X_test = [sentence_features(s) for s in test]
y_train = [np.array([t for _, t, _ in s]) for s in train]
y_test = [np.array([t for _, t, _ in s]) for s in test]
print(f"each sentence is an array of shape (n_tokens, {X_train[0].shape[1]})")

# %%
# Baseline: the most frequent tag of each word
# --------------------------------------------
# A word seen in training gets the tag it had most often; an unseen word gets the most
# frequent tag overall.
counts = defaultdict(Counter)
for s in train:
    for form, tag, _ in s:
        counts[form][tag] += 1
lexicon = {form: c.most_common(1)[0][0] for form, c in counts.items()}
default_tag = Counter(t for y in y_train for t in y).most_common(1)[0][0]
baseline_pred = [np.array([lexicon.get(f, default_tag) for f, _, _ in s]) for s in test]

# %%
# A bidirectional GRU tagger
# --------------------------
# ``X`` is a list of arrays of different lengths and ``y`` a list of 1-D arrays of tag
# strings; ``predict`` returns a list in the same structure. A few epochs are enough: the
# training sentences are soon tagged almost perfectly, and further epochs mostly fit them
# harder, so we stop early on purpose and silence the convergence warning.
tagger = GRUTagger(hidden_layer_sizes=(32,), bidirectional=True, learning_rate_init=0.01,
                   batch_size=32, max_iter=5, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    tagger.fit(X_train, y_train)
print(f"training token accuracy: {tagger.score(X_train, y_train):.3f}")
gru_pred = tagger.predict(X_test)

# %%
# Token accuracy, overall and on known and unknown words
# ------------------------------------------------------
# Unknown (out-of-vocabulary) words are test tokens whose form never occurs in training:
# the baseline can only guess for them, the tagger still reads their suffixes and context.
y_true = np.concatenate(y_test)
known = np.array([f in lexicon for s in test for f, _, _ in s])
results = {}
for name, pred in [("most frequent tag", baseline_pred), ("GRUTagger", gru_pred)]:
    correct = np.concatenate(pred) == y_true
    results[name] = [correct.mean(), correct[known].mean(), correct[~known].mean()]
    print(f"{name:>17}: all {results[name][0]:.3f}, known words {results[name][1]:.3f}, "
          f"unknown words {results[name][2]:.3f}")
print(f"unknown words are {(~known).mean():.1%} of the test tokens")

groups = ["all", "known words", "unknown words"]
fig, ax = plt.subplots(figsize=(7, 3.5))
for k, (name, acc) in enumerate(results.items()):
    bars = ax.bar(np.arange(3) + 0.4 * (k - 0.5), acc, width=0.4, label=name)
    ax.bar_label(bars, fmt="%.2f")
ax.set(xticks=np.arange(3), xticklabels=groups, ylabel="token accuracy", ylim=(0, 1.1),
       title="Turkish web treebank, test split")
ax.legend(loc="lower left")
fig.tight_layout()

# %%
# Which tags get confused
# -----------------------
# The rows of the confusion matrix are normalised: the diagonal is the recall of each tag.
y_gru = np.concatenate(gru_pred)
tags = [t for t, _ in Counter(np.concatenate([y_true, y_gru])).most_common()]
fig, ax = plt.subplots(figsize=(8, 7))
ConfusionMatrixDisplay.from_predictions(y_true, y_gru, labels=tags,
                                        normalize="true", values_format=".2f", ax=ax,
                                        colorbar=False, xticks_rotation=45)
ax.set_title("GRUTagger, normalised by true tag")
fig.tight_layout()

# %%
# One tagged test sentence
# ------------------------
# The short test sentence (at most twelve tokens) with the most unknown words.
n_unknown = [sum(form not in lexicon for form, _, _ in s) if len(s) <= 12 else -1
             for s in test]
s = int(np.argmax(n_unknown))
print(f"{'token':>15} {'true':>6} {'GRU':>6} {'baseline':>8}")
for (form, tag, _), g, b in zip(test[s], gru_pred[s], baseline_pred[s]):
    print(f"{form:>15} {tag:>6} {g:>6} {b:>8}" + ("" if form in lexicon else "   (unknown)"))
