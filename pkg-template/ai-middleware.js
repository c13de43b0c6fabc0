// A language-model middleware for the Vercel AI SDK (`wrapLanguageModel`, specification v3):
// tool results in the prompt are compressed before the model sees them, the `headroom_retrieve`
// tool is offered when a marker was left, and the model's retrieve calls are answered and the call
// continued inside the middleware (generate and stream), so the app never sees them.
//
// The AI SDK prompt is mapped onto an OpenAI-shaped request only for the engine; what reaches the
// model is the AI SDK prompt with compressed tool-result outputs swapped in by tool-call id.

import { Headroom, retrieveToolDefinition } from './core.js';
import { HeadroomError } from './errors.js';
import { RETRIEVE } from './providers.js';

function textOfParts(content) {
  if (typeof content === 'string') return content;
  return (content ?? []).map((p) => (p?.type === 'text' ? p.text : '')).join('');
}

function outputText(output) {
  if (!output) return '';
  if (output.type === 'text' || output.type === 'error-text') return output.value;
  if (output.type === 'json' || output.type === 'error-json') return JSON.stringify(output.value);
  if (output.type === 'content') return (output.value ?? []).map((p) => (p.type === 'text' ? p.text : '')).join('');
  return '';
}

/** The AI SDK prompt as an OpenAI chat request (for the engine's eyes only). */
function toChat(prompt, tools, modelId) {
  const messages = [];
  for (const m of prompt) {
    if (m.role === 'system') messages.push({ role: 'system', content: m.content });
    else if (m.role === 'user') messages.push({ role: 'user', content: textOfParts(m.content) });
    else if (m.role === 'assistant') {
      const calls = (m.content ?? []).filter((p) => p.type === 'tool-call' && !p.providerExecuted);
      const msg = { role: 'assistant', content: textOfParts(m.content) || null };
      if (calls.length) msg.tool_calls = calls.map((c) => ({ id: c.toolCallId, type: 'function', function: { name: c.toolName, arguments: typeof c.input === 'string' ? c.input : JSON.stringify(c.input ?? {}) } }));
      messages.push(msg);
    } else if (m.role === 'tool') {
      for (const p of m.content ?? []) {
        if (p.type === 'tool-result') messages.push({ role: 'tool', tool_call_id: p.toolCallId, content: outputText(p.output) });
      }
    }
  }
  const chat = { model: modelId, messages };
  const fns = (tools ?? []).filter((t) => t.type === 'function').map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
  if (fns.length) chat.tools = fns;
  return chat;
}

/**
 * `headroomMiddleware(options?)`: `{ mode = 'optimize', maxRetrieveRounds = 3, headroom?, ...config }`
 * where `config` is the Headroom engine config, or `headroom` an existing Headroom instance.
 */
export function headroomMiddleware(options = {}) {
  const { mode = 'optimize', maxRetrieveRounds = 3, headroom, onResult, ...config } = options;
  let hr = headroom ?? null;
  const engine = () => (hr ??= new Headroom(config));
  const tool = retrieveToolDefinition('openai').function;
  const stats = { requests: 0, tokensBefore: 0, tokensAfter: 0, tokensSaved: 0, failed: 0, retrieveRounds: 0 };

  async function transformParams({ params, model }) {
    stats.requests += 1;
    let result;
    try {
      // Consecutive tool-result parts can sit in one AI SDK tool message; the engine sees one
      // OpenAI tool message per result, so results are matched back by tool-call id.
      result = engine().compress(toChat(params.prompt, params.tools, model?.modelId), { mode, provider: 'openai' });
    } catch (err) {
      if (!(err instanceof HeadroomError)) throw err;
      stats.failed += 1;
      return params; // fail open
    }
    stats.tokensBefore += result.tokensBefore;
    stats.tokensAfter += result.tokensAfter;
    stats.tokensSaved += result.tokensSaved;
    onResult?.(result);
    const compressed = new Map();
    for (const m of result.messages) if (m.role === 'tool') compressed.set(m.tool_call_id, m.content);
    const prompt = params.prompt.map((m) => {
      if (m.role !== 'tool') return m;
      return {
        ...m,
        content: m.content.map((p) => {
          if (p.type !== 'tool-result' || !compressed.has(p.toolCallId)) return p;
          const now = compressed.get(p.toolCallId);
          return now === outputText(p.output) ? p : { ...p, output: { type: 'text', value: now } };
        }),
      };
    });
    const next = { ...params, prompt };
    if (result.markers.length && !(params.tools ?? []).some((t) => t.name === RETRIEVE)) {
      next.tools = [...(params.tools ?? []), { type: 'function', name: tool.name, description: tool.description, inputSchema: tool.parameters }];
    }
    return next;
  }

  function answers(calls) {
    return calls.map((c) => {
      const input = typeof c.input === 'string' ? c.input : JSON.stringify(c.input ?? {});
      const a = engine().answerRetrieveCall({ id: c.toolCallId, type: 'function', function: { name: RETRIEVE, arguments: input } });
      return { type: 'tool-result', toolCallId: c.toolCallId, toolName: RETRIEVE, output: { type: 'text', value: a.content } };
    });
  }

  function continuePrompt(prompt, text, calls) {
    const assistant = [];
    if (text) assistant.push({ type: 'text', text });
    for (const c of calls) {
      let input = c.input;
      if (typeof input === 'string') {
        try {
          input = JSON.parse(input);
        } catch {}
      }
      assistant.push({ type: 'tool-call', toolCallId: c.toolCallId, toolName: RETRIEVE, input });
    }
    return [...prompt, { role: 'assistant', content: assistant }, { role: 'tool', content: answers(calls) }];
  }

  async function wrapGenerate({ doGenerate, params, model }) {
    let result = await doGenerate();
    let prompt = params.prompt;
    for (let round = 0; round < maxRetrieveRounds; round++) {
      const calls = result.content.filter((c) => c.type === 'tool-call' && c.toolName === RETRIEVE);
      if (!calls.length) break;
      const text = result.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
      prompt = continuePrompt(prompt, text, calls);
      stats.retrieveRounds += 1;
      result = await model.doGenerate({ ...params, prompt });
    }
    return result;
  }

  async function wrapStream({ doStream, params, model }) {
    const first = await doStream();
    const stream = new ReadableStream({
      async start(controller) {
        let reader = first.stream.getReader();
        let prompt = params.prompt;
        try {
          for (let round = 0; ; round++) {
            const retrieveIds = new Set();
            const calls = [];
            const held = [];
            let text = '';
            for (;;) {
              const { done, value: part } = await reader.read();
              if (done) break;
              const isRetrievePart =
                (part.type === 'tool-input-start' && part.toolName === RETRIEVE) ||
                ((part.type === 'tool-input-delta' || part.type === 'tool-input-end') && retrieveIds.has(part.id)) ||
                (part.type === 'tool-call' && part.toolName === RETRIEVE);
              if (part.type === 'tool-input-start' && part.toolName === RETRIEVE) retrieveIds.add(part.id);
              if (part.type === 'tool-call' && part.toolName === RETRIEVE) calls.push(part);
              if (part.type === 'text-delta') text += part.delta ?? '';
              // Parts of the retrieve call, and the finish after it, are held back.
              if (isRetrievePart || (retrieveIds.size + calls.length > 0 && part.type === 'finish')) {
                held.push(part);
                continue;
              }
              // A continuation stream's own stream-start would repeat; the client has one already.
              if (round > 0 && part.type === 'stream-start') continue;
              controller.enqueue(part);
            }
            if (!calls.length) {
              for (const p of held) controller.enqueue(p);
              break;
            }
            if (round >= maxRetrieveRounds) {
              for (const p of held) controller.enqueue(p);
              break;
            }
            prompt = continuePrompt(prompt, text, calls);
            stats.retrieveRounds += 1;
            const next = await model.doStream({ ...params, prompt });
            reader = next.stream.getReader();
          }
          controller.close();
        } catch (err) {
          controller.error(err);
        }
      },
    });
    return { ...first, stream };
  }

  return {
    specificationVersion: 'v3',
    transformParams,
    wrapGenerate,
    wrapStream,
    /** Totals for this middleware instance. */
    stats: () => ({ ...stats }),
  };
}
