-- evalua models: download Hugging Face RoBERTa classifiers for the toxicity
-- metric's roberta backend, and list what is in the cache.
local util = require "evalua.util"

local M = { summary = "pull Hugging Face models for toxicity: evalua models pull MODEL_ID" }

local USAGE = [[
usage: evalua models pull MODEL_ID [--revision REV] [--no-progress]
       evalua models list
       evalua models path MODEL_ID
  pull   downloads config.json, vocab.json, merges.txt and model.safetensors of a
         RobertaForSequenceClassification model (owner/name, or the bare name
         roberta-hate-speech-dynabench-r4-target = MLflow's toxicity model) into
         the cache, resuming a cut download and checking every file against the
         hub's sha256 / git blob id; then checks that evalua can load it
  list   the pulled models
  path   the cache directory of a model id
  --revision REV   a branch, tag or commit of the model repository (default main)
  --no-progress    no progress lines on stderr (default: a bar on a terminal,
                   else a line per quarter of each file)
environment:
  HF_ENDPOINT        the hub (default https://huggingface.co)
  HF_TOKEN           an access token for gated or private models (sent to the hub only)
  EVALUA_MODELS_DIR  the cache (default $XDG_CACHE_HOME/evalua/models or
                     ~/.cache/evalua/models)
then: metrics.toxicity{ backend = "roberta" } (MLflow's model) or
      metrics.toxicity{ backend = "roberta", path = "owner/name" };
      evalua score ... --toxicity roberta
examples:
  evalua models pull roberta-hate-speech-dynabench-r4-target
  HF_TOKEN=hf_... evalua models pull someone/private-roberta --revision v2]]

function M.main(args)
  if util.help(args, USAGE) then return 0 end
  local opts, pos = util.parse_args("models", args, {
    ["--revision"] = "value", ["--no-progress"] = "flag", ["--help"] = "flag", ["-h"] = "flag",
  })
  local hf = require "evalua.hfmodels"
  local cmd = pos[1]
  if cmd == "pull" then
    if not pos[2] then util.usage("models pull: a model id is required (owner/name)") end
    if pos[3] then util.usage("models pull: unexpected argument '" .. pos[3] .. "'") end
    local cid, why = hf.canonical_id(pos[2])
    if not cid then util.usage("models pull: " .. why) end
    local core = require "evalua.core"
    local progress = "lines"
    if opts.no_progress then progress = false elseif core.isatty(2) then progress = "bar" end
    io.stderr:write(string.format("pulling %s (revision %s) from %s\n", cid,
      opts.revision or "main", hf.endpoint()))
    local ok, dir, manifest = pcall(hf.pull, cid, { revision = opts.revision, progress = progress })
    if not ok then util.fail(tostring(dir)) end   -- network, hub or checksum failure: exit 1
    local tox = require "evalua.toxicity"
    local m, err = tox.roberta_open(dir)
    if not m then util.fail("models pull: downloaded, but evalua cannot load it: " .. err) end
    local info = m:info()
    m:close()
    print(dir)
    io.stderr:write(string.format("ready: %s, model.safetensors sha256 %s, score = P(%s)\n", cid,
      manifest.files["model.safetensors"].sha256, tostring(info.hate_label_name)))
    if cid == hf.TOXICITY_DEFAULT then
      io.stderr:write('use it: metrics.toxicity{ backend = "roberta" } or evalua score ... --toxicity roberta\n')
    else
      io.stderr:write(string.format('use it: metrics.toxicity{ backend = "roberta", path = "%s" }\n', cid))
    end
    return 0
  elseif cmd == "list" then
    for _, m in ipairs(hf.list()) do
      print(string.format("%s\t%s\t%s", m.id, m.revision or "", m.dir))
    end
    return 0
  elseif cmd == "path" then
    if not pos[2] then util.usage("models path: a model id is required") end
    local cid, why = hf.canonical_id(pos[2])
    if not cid then util.usage("models path: " .. why) end
    print(hf.dir_for(cid))
    return 0
  end
  util.usage(cmd and ("models: unknown command '" .. cmd .. "' (pull, list, path)") or USAGE)
end

return M
