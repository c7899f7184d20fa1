"""The lessons: their catalogue (navigation and home page) and the data each lesson page shows.

``toolbox.lessons.catalogue`` lists the lessons; ``toolbox.lessons.<lesson>`` builds one page's
demonstration data from the reusable modules and the algorithms below it. Importing this package
loads only the catalogue.
"""

from toolbox.lessons.catalogue import LESSONS, Lesson

__all__ = ["LESSONS", "Lesson"]
