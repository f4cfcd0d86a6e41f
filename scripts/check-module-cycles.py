#!/usr/bin/env python3
"""Fails when two source files of one crate import each other, directly or round a longer
loop (`make lint` runs it). Files are modules; `use crate::…`, `use super::…` and
`use self::…` lines are the edges; a parent module and its own children do not count (a
parent declares its children and re-exports them). Test modules are left out.

Usage: scripts/check-module-cycles.py CRATE_DIR...
"""
import os
import re
import sys
def modules(crate_src):
    files={}
    for root,_,fs in os.walk(crate_src):
        for f in fs:
            if f.endswith('.rs'):
                p=os.path.join(root,f)
                rel=os.path.relpath(p,crate_src)[:-3]
                parts=rel.split(os.sep)
                if parts[-1] in ('lib','main','mod'): parts=parts[:-1]
                files['::'.join(parts)]=p
    return files
def resolve(mod, path, mods):
    # path like crate::a::b::C or super::x
    segs=path.split('::')
    if segs[0]=='crate': cur=[]; segs=segs[1:]
    elif segs[0] in('super','self'):
        cur=mod.split('::') if mod else []
        while segs and segs[0] in('super','self'):
            if segs[0]=='super': cur=cur[:-1]
            segs=segs[1:]
    else: return None
    best=None
    for i in range(len(segs)+1):
        cand='::'.join(cur+segs[:i])
        if cand in mods: best=cand
    return best
found = False
for crate in sys.argv[1:]:
    src=os.path.join(crate,'src'); mods=modules(src)
    edges={m:set() for m in mods}
    for m,p in mods.items():
        text=open(p).read()
        text=re.sub(r'#\[cfg\(test\)\]\s*mod tests \{.*','',text,flags=re.S)
        for u in re.findall(r'\buse\s+((?:crate|super|self)(?:::\w+)*)(?:::\{([^;]*)\})?',text):
            base,group=u
            targets=[base]
            if group:
                for g in re.split(r',',group):
                    g=g.strip().split('::')[0].strip('{} ')
                    if g: targets.append(base+'::'+g)
            for t in targets:
                r=resolve(m,t,mods)
                if r is not None and r!=m and not m.startswith(r+'::') and not r.startswith(m+'::') and r!='':
                    edges[m].add(r)
    # find 2-cycles and longer via DFS
    seen=set()
    for a in edges:
        for b in edges[a]:
            if a in edges.get(b,()) and (b,a) not in seen:
                seen.add((a,b)); print(f'{crate}: {a} and {b} import each other'); found = True
    # strongly connected components (Tarjan) for longer cycles
    index={};low={};stack=[];on=set();out=[];counter=[0]
    sys.setrecursionlimit(10000)
    def strong(v):
        index[v]=low[v]=counter[0];counter[0]+=1;stack.append(v);on.add(v)
        for w in edges[v]:
            if w not in edges: continue
            if w not in index: strong(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],index[w])
        if low[v]==index[v]:
            comp=[]
            while True:
                w=stack.pop();on.discard(w);comp.append(w)
                if w==v: break
            if len(comp)>1: out.append(comp)
    for v in edges:
        if v not in index: strong(v)
    for c in out:
        if len(c) > 2:
            print(f'{crate}: import loop through {sorted(c)}'); found = True
sys.exit(1 if found else 0)
