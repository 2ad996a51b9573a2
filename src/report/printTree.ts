/** dump-tree text of tree blocks and items; split by concern under printTree/ (see its index). */
export * from './printTree/index.js';
