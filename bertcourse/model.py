"""BertModel (embeddings + encoder + pooler) and the task heads the slides put on top of it."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .attention import additive_mask
from .config import ACTIVATIONS, BertConfig
from .dropout import Dropout
from .embeddings import Embeddings
from .encoder import Encoder

Tensor = torch.Tensor
LossTerms = dict[str, tuple[Tensor, Tensor]]  # name -> (sum of the losses, number of items they cover)


@dataclass
class BertOutput:
    last_hidden_state: Tensor                  # (B, T, H): one contextual vector per token
    pooler_output: Tensor | None = None        # (B, H): tanh(dense(h_[CLS]))
    hidden_states: list[Tensor] | None = None  # L+1 tensors (B, T, H): embeddings, then each block
    attentions: list[Tensor] | None = None     # L tensors (B, nh, T, T)


@dataclass
class HeadOutput:
    """What every task head returns; the fields a head does not produce stay None."""
    loss_terms: LossTerms = field(default_factory=dict)  # empty when no labels were given
    logits: Tensor | None = None        # classification (B, num_labels) / token classification (B, T, num_labels)
    mlm_logits: Tensor | None = None    # (B, T, V)
    nsp_logits: Tensor | None = None    # (B, 2): index 0 = B follows A, 1 = B is random
    start_logits: Tensor | None = None  # (B, T)
    end_logits: Tensor | None = None    # (B, T)
    hidden_states: list[Tensor] | None = None
    attentions: list[Tensor] | None = None

    @property
    def loss(self) -> Tensor | None:
        """Each term averaged over its own items, then added (e.g. MLM over chosen tokens + NSP over pairs)."""
        return sum(total / count for total, count in self.loss_terms.values()) if self.loss_terms else None


def summed_cross_entropy(logits: Tensor, labels: Tensor, ignore_index: int = -100,
                         weight: float = 1.0) -> tuple[Tensor, Tensor]:
    """(sum of the per-item losses, number of items): kept apart rather than averaged, so that
    data-parallel processes can divide by the count over *all* processes and match one big batch."""
    total = F.cross_entropy(logits.float(), labels, ignore_index=ignore_index, reduction="sum")
    return weight * total, (labels != ignore_index).sum()


def mean_pool(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """(B, T, H) token vectors and a (B, T) 1/0 mask -> (B, H): the average over the real tokens only
    (the sentence vector all-MiniLM-L6-v2 was trained to produce; [PAD] positions must not count)."""
    if hidden.shape[:2] != attention_mask.shape:
        raise ValueError(f"hidden {tuple(hidden.shape)} and attention_mask {tuple(attention_mask.shape)} "
                         "must agree on (batch, seq_len): pass the mask of the batch the model read")
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)            # (B, T, 1)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)     # (B, H)


class Pooler(nn.Module):
    """tanh(W h_[CLS] + b): the sentence-level vector that NSP and classification read."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))            # (B, H)


class BertPreTrainedModel(nn.Module):
    """Shared by all model classes: the config and BERT's weight initialisation."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config

    def init_weights(self, module: nn.Module | None = None) -> None:
        """N(0, 0.02) weights, zero biases, LayerNorm 1/0, zero [PAD] row (as the reference)."""
        for m in (module or self).modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=self.config.initializer_range)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                nn.init.zeros_(m.weight[m.padding_idx])
            if isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class BertModel(BertPreTrainedModel):
    """The encoder-only Transformer: one contextual vector per token, plus the pooled [CLS] vector."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, output_attentions: bool = False,
                output_hidden_states: bool = False, head_mask: Tensor | None = None) -> BertOutput:
        """head_mask: (L, nh), 1 keeps a head and 0 switches it off (head ablation, as transformers)."""
        x = self.embeddings(input_ids, token_type_ids)         # (B, T, H)
        shape = (self.config.num_hidden_layers, self.config.num_attention_heads)
        if head_mask is not None and tuple(head_mask.shape) != shape:
            raise ValueError(f"head_mask shape {tuple(head_mask.shape)}: use one 1/0 per layer and head, {shape}")
        if attention_mask is not None and attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask shape {tuple(attention_mask.shape)} differs from input_ids "
                             f"shape {tuple(input_ids.shape)}")
        padded = attention_mask is not None and not bool(attention_mask.all())  # without padding, nothing to add
        mask = additive_mask(attention_mask, x.dtype) if padded else None  # (B, 1, 1, T)
        x, hidden_states, attentions = self.encoder(x, mask, output_attentions, output_hidden_states, head_mask)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BertOutput(x, pooled, hidden_states, attentions)


class PredictionHeadTransform(nn.Module):
    """Dense + GELU + LayerNorm before the vocabulary projection of the masked-LM head."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.approximate = ACTIVATIONS[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: Tensor) -> Tensor:
        return self.LayerNorm(F.gelu(self.dense(x), approximate=self.approximate))


class MaskedLMHead(nn.Module):
    """Scores every vocabulary word at each position with the *input* embedding matrix (weight tying)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))  # the decoder's own bias

    def forward(self, x: Tensor, word_embeddings: Tensor) -> Tensor:
        return F.linear(self.transform(x), word_embeddings, self.bias)  # (B, T, V)


class PreTrainingHeads(nn.Module):
    """cls.predictions (masked LM) and cls.seq_relationship (next sentence prediction)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = MaskedLMHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)


class BertForPreTraining(BertPreTrainedModel):
    """BERT with both pretraining heads; loss = MLM cross-entropy on chosen positions + NSP cross-entropy.

    With labels, only the chosen positions (about 15%) go through the vocabulary projection, as in
    google-research/bert's gather_indexes: the other 85% would cost a (H x V) product each and add
    nothing to the loss. mlm_logits is then (N, V) for the N chosen positions in reading order
    (labels[labels != -100] are their targets); without labels it is (B, T, V).
    """

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = PreTrainingHeads(config)
        self.init_weights(self.cls)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, labels: Tensor | None = None,
                next_sentence_label: Tensor | None = None, **kw) -> HeadOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask, **kw)
        tied = self.bert.embeddings.word_embeddings.weight            # (V, H), shared with the input
        hidden = out.last_hidden_state                                # (B, T, H)
        chosen = None if labels is None else labels != -100           # (B, T)
        mlm_logits = self.cls.predictions(hidden if chosen is None else hidden[chosen], tied)  # (B, T, V) / (N, V)
        nsp_logits = self.cls.seq_relationship(out.pooler_output)     # (B, 2)
        terms = {}
        if labels is not None:
            terms["mlm"] = summed_cross_entropy(mlm_logits, labels[chosen])
        if next_sentence_label is not None:
            terms["nsp"] = summed_cross_entropy(nsp_logits, next_sentence_label.view(-1))
        return HeadOutput(terms, mlm_logits=mlm_logits, nsp_logits=nsp_logits,
                          hidden_states=out.hidden_states, attentions=out.attentions)


def _dropout(config: BertConfig) -> Dropout:
    p = config.classifier_dropout
    return Dropout(config.hidden_dropout_prob if p is None else p)


class BertForSequenceClassification(BertPreTrainedModel):
    """Dense layer on the pooled [CLS] vector (or, with config.classifier_pooling="mean", on the mean of the
    real tokens' vectors); num_labels=1 makes it a regression (similarity scores).

    classifier_pooling="bi-encoder" reads a sentence pair as two separate inputs (Sentence-BERT): each
    sentence is encoded on its own and mean-pooled to a unit vector, u and v. Classes are read off
    [u, v, |u - v|, u * v] (InferSent's features); a score is an affine function of cos(u, v), the
    similarity such a checkpoint was trained to produce. Nothing lets one sentence attend to the other,
    which is what makes frozen features of a pair meaningful."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = _dropout(config)
        features = config.hidden_size
        if config.classifier_pooling == "bi-encoder":
            features = 1 if config.num_labels == 1 else 4 * config.hidden_size
        self.classifier = nn.Linear(features, config.num_labels)
        self.init_weights(self.classifier)
        if features == 1:
            nn.init.ones_(self.classifier.weight)  # a score starts as the plain cosine, not at a random sign

    @staticmethod
    def token_mean(out, attention_mask: Tensor | None, input_ids: Tensor) -> Tensor:
        """(B, H) mean of the real tokens' vectors (every token when no mask is given)."""
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask  # (B, T)
        return mean_pool(out.last_hidden_state, mask)

    def sentence_vector(self, input_ids: Tensor, attention_mask: Tensor | None, **kw) -> tuple[Tensor, object]:
        """(B, H) unit mean-pooled vector of sentences encoded on their own, and the encoder's output."""
        out = self.bert(input_ids, None, attention_mask, **kw)
        return F.normalize(self.token_mean(out, attention_mask, input_ids), dim=-1), out

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, labels: Tensor | None = None,
                pair_input_ids: Tensor | None = None, pair_attention_mask: Tensor | None = None,
                **kw) -> HeadOutput:
        pooling = self.config.classifier_pooling
        if pooling == "bi-encoder":
            if pair_input_ids is None:
                raise ValueError("classifier_pooling='bi-encoder' encodes the two sentences on their own: pass the "
                                 "second one as pair_input_ids (and pair_attention_mask)")
            u, out = self.sentence_vector(input_ids, attention_mask, **kw)            # (B, H); out: sentence 1
            v, _ = self.sentence_vector(pair_input_ids, pair_attention_mask, **kw)     # (B, H)
            if self.config.num_labels == 1:
                features = (u * v).sum(-1, keepdim=True)                              # (B, 1): cos(u, v)
            else:
                features = self.dropout(torch.cat([u, v, (u - v).abs(), u * v], -1))  # (B, 4H)
        else:
            out = self.bert(input_ids, token_type_ids, attention_mask, **kw)
            if pooling == "mean":
                features = self.dropout(self.token_mean(out, attention_mask, input_ids))  # (B, H)
            else:
                features = self.dropout(out.pooler_output)                        # (B, H): tanh(dense([CLS]))
        logits = self.classifier(features)                                        # (B, num_labels)
        terms = {}
        if labels is not None and self.config.num_labels == 1:        # regression: squared error
            errors = (logits.squeeze(-1).float() - labels.float()) ** 2
            terms["mse"] = (errors.sum(), torch.tensor(errors.numel(), device=errors.device))
        elif labels is not None:
            terms["ce"] = summed_cross_entropy(logits, labels.view(-1))
        return HeadOutput(terms, logits, hidden_states=out.hidden_states, attentions=out.attentions)


class BertForTokenClassification(BertPreTrainedModel):
    """The same dense layer applied to every token vector (named-entity tags)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = _dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(self.classifier)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, labels: Tensor | None = None, **kw) -> HeadOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask, **kw)
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        terms = {}
        if labels is not None:                                          # -100 on sub-words and specials
            terms["ce"] = summed_cross_entropy(logits.flatten(0, 1), labels.flatten())
        return HeadOutput(terms, logits, hidden_states=out.hidden_states, attentions=out.attentions)


class BertForQuestionAnswering(BertPreTrainedModel):
    """Two learned vectors s and e: start logit_i = <s, v_i>, end logit_i = <e, v_i> (+ bias)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)  # row 0 = s, row 1 = e
        self.init_weights(self.qa_outputs)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, start_positions: Tensor | None = None,
                end_positions: Tensor | None = None, **kw) -> HeadOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask, **kw)
        start_logits, end_logits = self.qa_outputs(out.last_hidden_state).unbind(-1)  # (B, T) each
        terms = {}
        if start_positions is not None and end_positions is not None:
            T = start_logits.size(1)  # positions outside the window are clamped to T and ignored
            terms["start"] = summed_cross_entropy(start_logits, start_positions.clamp(0, T), T, weight=0.5)
            terms["end"] = summed_cross_entropy(end_logits, end_positions.clamp(0, T), T, weight=0.5)
        return HeadOutput(terms, start_logits=start_logits, end_logits=end_logits,
                          hidden_states=out.hidden_states, attentions=out.attentions)
