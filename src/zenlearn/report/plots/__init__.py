"""zenlearn's figures: `style` (the one figure style: object API, Agg canvas, one DPI, one palette), and the
figures of a run (`run`), a comparison (`compare`), a reproduction (`reproduce`) and the tools (`tools`:
the LR range test, the activation gallery)."""
