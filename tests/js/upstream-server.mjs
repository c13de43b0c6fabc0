// The fake provider as its own process (for the load test): prints its URL, serves until killed.
import { startUpstream } from './llm-upstream.mjs';

const u = await startUpstream({ record: false });
console.log(u.url);
