"""Label converters: source data sets' labels -> 19 Cityscapes train ids
(``tools/dataset_converters`` are their command lines; the shared rules are in :mod:`.common`)."""
from . import gta5, mapillary, synthia
from .common import AlreadyConverted, ConversionError, format_summary

__all__ = ['AlreadyConverted', 'ConversionError', 'format_summary', 'gta5', 'mapillary', 'synthia']
