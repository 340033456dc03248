"""A1111's reading of a PNG's "parameters" text, ported line for line so a test can check Hintbrush's output
against the reader other tools use:
- parse_generation_parameters from AUTOMATIC1111/stable-diffusion-webui modules/infotext_utils.py (the parts
  that do not need the web UI: prompt / negative prompt / settings line, re_param, unquote, NxM sizes, the
  "Clip skip" default);
- parse_unit from Mikubill/sd-webui-controlnet scripts/infotext.py for each "ControlNet N" value;
- the "Lora hashes" reading of extensions-builtin/Lora/scripts/lora_script.py (infotext_pasted).
Reads the text on stdin, prints {"params": {...}, "controlnets": {...}, "lora_hashes": {...}} as JSON.
"""
import json
import re
import sys

re_param_code = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
re_param = re.compile(re_param_code)
re_imagesize = re.compile(r"^(\d+)x(\d+)$")


def unquote(text):
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


def parse_generation_parameters(x: str):
    res = {}
    prompt = ""
    negative_prompt = ""
    done_with_prompt = False
    *lines, lastline = x.strip().split("\n")
    if len(re_param.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ''
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative_prompt += ("" if negative_prompt == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    res["Prompt"] = prompt
    res["Negative prompt"] = negative_prompt
    for k, v in re_param.findall(lastline):
        try:
            if v[0] == '"' and v[-1] == '"':
                v = unquote(v)
            m = re_imagesize.match(v)
            if m is not None:
                res[f"{k}-1"] = m.group(1)
                res[f"{k}-2"] = m.group(2)
            else:
                res[k] = v
        except Exception:
            print(f"Error parsing \"{k}: {v}\"", file=sys.stderr)
    # Missing CLIP skip means it was set to 1 (the default)
    if "Clip skip" not in res:
        res["Clip skip"] = "1"
    return res


def displaytext_to_field(text: str) -> str:
    return "_".join([word.lower() for word in text.split(" ")])


def parse_value(value: str):
    if value in ("True", "False"):
        return value == "True"
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def parse_unit(text: str) -> dict:
    return {
        displaytext_to_field(key): parse_value(value)
        for item in text.split(",")
        for (key, value) in (item.strip().split(": "),)
    }


def lora_hashes(d: dict) -> dict:
    hashes = d.get("Lora hashes")
    if not hashes:
        return {}
    hashes = [x.strip().split(':', 1) for x in hashes.split(",")]
    return {x[0].strip().replace(",", ""): x[1].strip() for x in hashes}


if __name__ == "__main__":
    params = parse_generation_parameters(sys.stdin.read())
    controlnets = {k: parse_unit(v) for k, v in params.items() if re.match(r"^ControlNet \d+$", k)}
    print(json.dumps({"params": params, "controlnets": controlnets, "lora_hashes": lora_hashes(params)}))
