"""bertcourse: a faithful, readable BERT in PyTorch, and the code behind the course notebooks."""
from .checkpoints import load_pretrained, save_pretrained
from .config import BertConfig
from .model import (BertForPreTraining, BertForQuestionAnswering, BertForSequenceClassification,
                    BertForTokenClassification, BertModel)
from .tokenizer import BertTokenizer

__all__ = ["BertConfig", "BertModel", "BertForPreTraining", "BertForSequenceClassification",
           "BertForTokenClassification", "BertForQuestionAnswering", "BertTokenizer",
           "load_pretrained", "save_pretrained"]
__version__ = "0.1.0"
