// ESLint (flat config): typescript-eslint's type-checked recommended rules over every
// TypeScript file the project compiles. Run by `npm test` (npm run lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'coverage/', 'plugins/redfish/dmtf/', 'test/fixtures/', '**/*.js', '**/*.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `const { secret: _omit, ...rest } = x` is how the code drops a property: the rest is what is used.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest types its asymmetric matchers (expect.stringMatching & co.) `any` so they fit any property;
      // using an `any` value stays checked by no-unsafe-member-access, -call, -argument and -return.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
