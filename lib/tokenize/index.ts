/**
 * Tokenization: Hugging Face tokenizers from local files (`TextTokenizer`), PyLate's ColBERT
 * tokenization (`ColbertTokenizer`, `ColbertTokenizerConfig`), sentence-transformers' dense
 * tokenization (`DenseTokenizer`) and a small offline WordPiece tokenizer for tiny models.
 */
export * from './pystr';
export * from './text-tokenizer';
export * from './colbert-config';
export * from './colbert';
export * from './dense';
export * from './tiny';
