"""The review for clinicians: figures, BrainNet Viewer files and the HTML report."""
