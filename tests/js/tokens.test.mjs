// Token counts of the wasm package equal two independent JS implementations of tiktoken
// (gpt-tokenizer and js-tiktoken) on a corpus of real files and hard strings.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { installPackage, importFrom, root } from './helpers.mjs';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import * as gptO200k from 'gpt-tokenizer/encoding/o200k_base';
import * as gptCl100k from 'gpt-tokenizer/encoding/cl100k_base';

let hw;
before(async () => {
  hw = await importFrom(installPackage('tokens'), 'headroom-wasm');
});

function corpus() {
  const texts = [
    '',
    'hello world',
    'Ünïcödé façade — naïve café 北京 東京 서울 🙂👍🏽 שלום مرحبا',
    'a'.repeat(5000),
    ' '.repeat(1000) + '\n\n\t\t',
    '0123456789'.repeat(300),
    '<|endoftext|> <|fim_prefix|> special tokens count as text',
    'x=1;y=2;'.repeat(400),
  ];
  for (const dir of ['src', 'src/message', 'examples', 'pkg-template']) {
    for (const f of readdirSync(join(root, dir))) {
      if (/\.(rs|json|js|ts)$/.test(f)) texts.push(readFileSync(join(root, dir, f), 'utf8'));
    }
  }
  texts.push(readFileSync(join(root, 'README.md'), 'utf8'));
  return texts;
}

test('o200k_base and cl100k_base counts equal js-tiktoken and gpt-tokenizer', () => {
  const refs = {
    o200k_base: [new Tiktoken(o200k), gptO200k],
    cl100k_base: [new Tiktoken(cl100k), gptCl100k],
  };
  let n = 0;
  for (const text of corpus()) {
    for (const [enc, [jt, gt]] of Object.entries(refs)) {
      const ours = hw.countWithEncoding(text, enc);
      assert.equal(ours, jt.encode(text, [], []).length, `${enc} vs js-tiktoken on ${JSON.stringify(text.slice(0, 40))}`);
      assert.equal(ours, gt.encode(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() }).length, `${enc} vs gpt-tokenizer`);
      n++;
    }
  }
  assert.ok(n > 40, `compared ${n} texts`);
});

test('model table picks the encoding', () => {
  const text = readFileSync(join(root, 'src/engine.rs'), 'utf8');
  assert.equal(hw.countTokens(text, 'gpt-4o-mini'), hw.countWithEncoding(text, 'o200k_base'));
  assert.equal(hw.countTokens(text, 'gpt-4-0613'), hw.countWithEncoding(text, 'cl100k_base'));
  assert.equal(hw.countTokens(text, 'gpt-3.5-turbo'), hw.countWithEncoding(text, 'cl100k_base'));
  // Claude is an estimate: o200k x 1.15, rounded up.
  assert.equal(hw.countTokens(text, 'claude-sonnet-4-5'), Math.ceil(hw.countWithEncoding(text, 'o200k_base') * 1.15));
});
