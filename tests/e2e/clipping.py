"""What a lecturer would see cut off or overlapping, measured from the browser's element boxes.

``CLIPPING_JS`` runs in the page and returns one sentence per problem (an empty list when nothing
is cut): every Plotly figure's tick labels, axis titles, title, annotations and legend lie inside
the figure's own box and inside the chart's container; tick labels do not run into each other; the
legend covers no tick label or axis title; equations are not wider than their column; no text drawn
with an ellipsis (metric labels, dropdown values, chips, tab and sidebar names) is cut; no table
hides columns behind a sideways scroll; graph (Graphviz) text is at least ``MIN_GRAPH_TEXT_PX``
tall.
"""

from __future__ import annotations

MIN_GRAPH_TEXT_PX = 10
MIN_PRESENTER_TICK_PX = 22
"""Least height of a tick label's box in presenter mode (18 px font: 24 px; the screen's: 16)."""

CLIPPING_JS = """(minGraphText) => {
  const out = [];
  const shown = e => e.offsetParent !== null || e.closest('svg') !== null;
  const rect = e => e.getBoundingClientRect();
  const real = r => r.width > 0.5 && r.height > 0.5;
  const inside = (r, b, tol) => r.left >= b.left - tol && r.right <= b.right + tol
    && r.top >= b.top - tol && r.bottom <= b.bottom + tol;
  const meet = (a, b, tol) => a.left < b.right - tol && b.left < a.right - tol
    && a.top < b.bottom - tol && b.top < a.bottom - tol;
  const short = s => (s || '').replace(/\\s+/g, ' ').trim().slice(0, 40);

  document.querySelectorAll('.js-plotly-plot').forEach((plot, i) => {
    const svg = plot.querySelector('svg.main-svg');
    if (!svg || plot.offsetParent === null) return;
    const box = rect(svg);
    if (!real(box)) return;
    const holder = plot.closest('[data-testid="stPlotlyChart"]');
    const name = `figure "${short(plot.querySelector('.gtitle')?.textContent) || i + 1}"`;
    if (holder) {
      const h = rect(holder);
      if (box.bottom > h.bottom + 2 || box.right > h.right + 2)
        out.push(`${name}: drawn ${Math.round(box.width)}x${Math.round(box.height)} px in a `
          + `${Math.round(h.width)}x${Math.round(h.height)} px chart`);
    }
    const parts = [];
    const add = (sel, kind) => plot.querySelectorAll(sel).forEach(e => {
      const r = rect(e);
      if (real(r) && (e.textContent || '').trim()) parts.push({kind, text: short(e.textContent), r});
    });
    add('.xtick text', 'x tick'); add('.ytick text', 'y tick');
    add('.infolayer text.gtitle', 'title'); add('.annotation-text', 'annotation');
    add('.legend .traces text', 'legend entry'); add('.colorbar text', 'colour bar label');
    plot.querySelectorAll('.infolayer text').forEach(e => {
      const r = rect(e);
      if (/^[xy]\\d*title$/.test(e.getAttribute('class') || '') && real(r) && e.textContent.trim())
        parts.push({kind: 'axis title', text: short(e.textContent), r});
    });
    parts.forEach(p => {
      if (!inside(p.r, box, 2)) out.push(`${name}: ${p.kind} "${p.text}" outside the figure`);
    });
    const ticks = parts.filter(p => p.kind.endsWith('tick'));
    ticks.forEach((a, k) => ticks.slice(k + 1).forEach(b => {
      if (meet(a.r, b.r, 1)) out.push(`${name}: tick labels "${a.text}" and "${b.text}" overlap`);
    }));
    const legend = plot.querySelector('.legend');
    if (legend && real(rect(legend))) {
      const lr = rect(legend);
      parts.filter(p => p.kind.endsWith('tick') || p.kind === 'axis title').forEach(p => {
        if (meet(lr, p.r, 1)) out.push(`${name}: the legend covers ${p.kind} "${p.text}"`);
      });
    }
    parts.filter(p => p.kind === 'axis title').forEach(t => ticks.forEach(p => {
      if (meet(t.r, p.r, 1)) out.push(`${name}: axis title "${t.text}" runs into "${p.text}"`);
    }));
  });

  document.querySelectorAll('.katex-display').forEach(e => {
    if (!shown(e)) return;
    const where = e.closest('[data-testid="stColumn"]') || e.closest('[data-testid="stMain"]');
    const k = e.querySelector('.katex-html') || e;
    // KaTeX's struts overhang by a pixel or two: 3 px of slack
    const cut = e.scrollWidth > e.clientWidth + 3 || (where && rect(k).right > rect(where).right + 3);
    if (cut) out.push(`equation cut off: "${short(e.textContent)}" (${e.scrollWidth} px in ${e.clientWidth} px)`);
  });

  const roots = document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]');
  roots.forEach(root => root.querySelectorAll('*').forEach(e => {
    if (e.offsetParent === null || e.closest('svg') || e.scrollWidth <= e.clientWidth + 1) return;
    const s = getComputedStyle(e);
    if (s.textOverflow === 'ellipsis' && s.overflowX !== 'visible')
      out.push(`text cut off: "${short(e.textContent)}" (${e.scrollWidth} px in ${e.clientWidth} px)`);
  }));
  // a one-line label cut with an ellipsis whose box reports no overflow (scrollWidth equals
  // clientWidth, as toggle labels do): its text measured in its own font
  const ctx = document.createElement('canvas').getContext('2d');
  roots.forEach(root => root.querySelectorAll('[data-testid="stMarkdownContainer"]').forEach(e => {
    const s = getComputedStyle(e);
    if (e.offsetParent === null || s.textOverflow !== 'ellipsis' || s.overflowX === 'visible'
        || !s.whiteSpace.startsWith('nowrap')) return;
    const text = e.firstElementChild || e;
    if (!getComputedStyle(text).whiteSpace.startsWith('nowrap')) return;  // it wraps instead
    ctx.font = getComputedStyle(text).font;
    const wide = ctx.measureText(text.textContent.trim()).width;
    if (wide > rect(e).width + 0.02)  // Chromium cuts a line even a fraction of a pixel too long
      out.push(`text cut off: "${short(e.textContent)}" `
        + `(${Math.round(wide)} px in ${e.clientWidth} px)`);
  }));
  const bar = document.querySelector('[data-testid="stSidebar"]');
  document.querySelectorAll('[data-testid="stSidebarNavLink"] span').forEach(e => {
    const past = bar && rect(e).right > rect(bar).right + 1;  // drawn beyond the sidebar's edge
    if (e.scrollWidth > e.clientWidth + 1 || past) out.push(`page name cut off: "${short(e.textContent)}"`);
  });

  // a dropdown shows its value in a one-line input, which cuts it without an ellipsis
  document.querySelectorAll('[data-testid="stSelectbox"] input').forEach(e => {
    if (e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
      out.push(`dropdown text cut off: "${short(e.value)}" `
        + `(${e.scrollWidth} px in ${e.clientWidth} px)`);
  });
  document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller').forEach(e => {
    if (e.offsetParent !== null && e.scrollWidth > e.clientWidth + 2)
      out.push(`table hides columns: "${short(e.closest('[data-testid="stDataFrame"]').innerText)}" `
        + `(${e.scrollWidth} px in ${e.clientWidth} px)`);
  });
  document.querySelectorAll('[data-testid="stGraphVizChart"] svg').forEach(g => {
    const heights = Array.from(g.querySelectorAll('text')).map(t => rect(t).height).filter(h => h > 0);
    if (heights.length && Math.min(...heights) < minGraphText)
      out.push(`graph text ${Math.min(...heights).toFixed(1)} px tall (< ${minGraphText} px)`);
  });
  return out;
}"""  # noqa: E501

# In presenter mode: every visible figure's tick labels drawn at the projector's size, whatever
# Streamlit's chart theme or CSS does to the figure after ``restyle``.
PRESENTER_JS = """(minTick) => {
  const out = [];
  document.querySelectorAll('.js-plotly-plot').forEach((plot, i) => {
    if (plot.offsetParent === null) return;
    const heights = Array.from(plot.querySelectorAll('.xtick text, .ytick text'))
      .map(t => t.getBoundingClientRect().height).filter(h => h > 0.5);
    const name = (plot.querySelector('.gtitle')?.textContent || `${i + 1}`).trim().slice(0, 40);
    if (heights.length && Math.min(...heights) < minTick)
      out.push(`figure "${name}": tick labels ${Math.min(...heights).toFixed(1)} px tall `
        + `(< ${minTick} px in presenter mode)`);
  });
  return out;
}"""
