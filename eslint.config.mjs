import tseslint from 'typescript-eslint';

// Layering: only src/host (and the entry point) may talk to VS Code; the webview gets no Node built-ins.
const noVscode = {
  'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/host may import vscode.' }] }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/host/node_modules/**', 'src/onnx/gen/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'No default exports.' }],
    },
  },
  { files: ['src/shared/**', 'src/onnx/**', 'src/engine/**', 'src/worker/**', 'src/cli/**'], rules: noVscode },
  {
    files: ['media/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The webview runs in a browser: no Node built-ins.' },
            { group: ['vscode'], message: 'The webview cannot import vscode.' },
          ],
        },
      ],
    },
  },
);
